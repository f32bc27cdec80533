"""The Prometheus HTTP API v1 over the PromQL engine (being written: issue 4)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.routing import BaseRoute

from multimonx.promql.engine import Engine
from multimonx.storage import Storage


@dataclass(frozen=True, slots=True)
class PrometheusApi:
    """What the Prometheus API routes serve from."""

    engine: Engine
    storage: Storage
    version: str
    start_time: float


def prometheus_routes(api: PrometheusApi) -> list[BaseRoute]:
    """The routes of ``/api/v1/query``, ``/api/v1/query_range``, ``/api/v1/series``, ..."""
    del api
    return []
