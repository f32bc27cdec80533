"""The rules' query function over the PromQL engine (Prometheus's ``EngineQueryFunc``)."""

from __future__ import annotations

from collections.abc import Sequence

from multimonx.model import Labels
from multimonx.promql.ast import Expr
from multimonx.promql.engine import Engine
from multimonx.promql.errors import EvalError
from multimonx.rules.alerting import QueryFunc, RuleEvalError
from multimonx.storage import StorageUnavailable


def engine_query(engine: Engine) -> QueryFunc:
    """A QueryFunc evaluating instant queries on ``engine``: a vector as it is, a scalar as
    one sample without labels, anything else an error (as Prometheus's rule manager does)."""

    def query(expr: Expr, t_ms: int) -> Sequence[tuple[Labels, float]]:
        try:
            result = engine.instant(expr, t_ms)
        except (EvalError, StorageUnavailable) as err:
            raise RuleEvalError(str(err)) from None
        if result.vector is not None:
            return [(sample.labels, sample.value) for sample in result.vector]
        if result.scalar is not None:
            return [(Labels(), result.scalar[1])]
        raise RuleEvalError("rule result is not a vector or scalar")

    return query
