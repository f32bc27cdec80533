"""Recording rules evaluated as Prometheus 2.42's ``rules.RecordingRule`` does: the query's
instant vector, renamed to the rule's ``record`` and given its labels, is what the caller
stores."""

from __future__ import annotations

from multimonx.model import METRIC_NAME_LABEL, Labels
from multimonx.rules.alerting import OutputSample, QueryFunc, RuleEvalError
from multimonx.rules.rulefile import RecordingRule


def eval_recording(
    rule: RecordingRule, t_ms: int, query: QueryFunc, *, limit: int = 0
) -> list[OutputSample]:
    """The samples ``rule`` records at ``t_ms``. A rule label with an empty value removes that
    label. Two results with the same labels, or more than ``limit`` of them (0: no limit),
    raise RuleEvalError and record nothing."""
    out: list[OutputSample] = []
    seen: set[Labels] = set()
    for labels, value in query(rule.expr, t_ms):
        merged = dict(labels.pairs)
        merged[METRIC_NAME_LABEL] = rule.record
        for name, text in rule.labels:
            if text:
                merged[name] = text
            else:
                merged.pop(name, None)
        key = Labels.of(merged)
        if key in seen:
            raise RuleEvalError(
                "vector contains metrics with the same labelset after applying rule labels"
            )
        seen.add(key)
        out.append(OutputSample(key, t_ms, value))
    if limit and len(out) > limit:
        raise RuleEvalError(f"exceeded limit of {limit} with {len(out)} series")
    return out
