"""The friendly REST API of the original specification over a catalog of PromQL
expressions (being written: issue 4)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.routing import BaseRoute

from multimonx.ingest import FleetRegistry
from multimonx.promql.engine import Engine


@dataclass(frozen=True, slots=True)
class FriendlyApi:
    """What the friendly routes serve from."""

    engine: Engine
    fleet: FleetRegistry


def friendly_routes(api: FriendlyApi) -> list[BaseRoute]:
    """The routes of ``/api/v1/metrics/current``, ``/api/v1/metrics/history``, ..."""
    del api
    return []
