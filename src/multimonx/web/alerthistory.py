"""``GET /api/v1/alerts/history``: the stored transitions of alerts (pending, firing,
resolved), newest first, filtered by time range, host, rule, severity and state.

Parameters: ``start`` and ``end`` (Unix seconds or RFC 3339; default the last 24 hours),
``host`` (or ``instance``), ``rule`` (or ``alertname``), ``severity``, ``state``
(``pending``, ``firing`` or ``resolved``) and ``limit`` (default 1,000, at most 10,000).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from multimonx.storage import StorageError
from multimonx.storage.alerthistory import (
    MAX_QUERY_ROWS,
    AlertEvent,
    AlertHistory,
    AlertPhase,
    HistoryFilter,
)
from multimonx.web.envelope import error_response, json_response, rfc3339
from multimonx.web.promparams import ApiError, read_params, time_param

DEFAULT_RANGE_MS = 24 * 3600 * 1000
DEFAULT_LIMIT = 1000


def alert_history_routes(history: AlertHistory, clock: Callable[[], float]) -> list[BaseRoute]:
    """The history route over ``history``; ``clock`` (Unix seconds) says what now is."""

    async def handle(request: Request) -> Response:
        params = await read_params(request)
        try:
            end_ms = time_param(params, "end", round(clock() * 1000))
            start_ms = time_param(params, "start", end_ms - DEFAULT_RANGE_MS)
        except ApiError as err:
            return error_response(400, "bad_data", err.message)
        if start_ms > end_ms:
            return error_response(400, "bad_data", "end timestamp must not be before start time")
        state = params.get("state").lower()
        if state and state not in {p.value for p in AlertPhase}:
            return error_response(400, "bad_data", "state must be pending, firing or resolved")
        limit_text = params.get("limit") or str(DEFAULT_LIMIT)
        if not limit_text.isdigit() or not 0 < int(limit_text) <= MAX_QUERY_ROWS:
            return error_response(
                400, "bad_data", f"limit must be a whole number from 1 to {MAX_QUERY_ROWS}"
            )
        where = HistoryFilter(
            start_ms,
            end_ms,
            instance=params.get("host") or params.get("instance") or None,
            alertname=params.get("rule") or params.get("alertname") or None,
            severity=params.get("severity") or None,
            phase=AlertPhase(state) if state else None,
            limit=int(limit_text),
        )
        try:
            events = history.query(where)
        except StorageError as err:
            return error_response(503, "unavailable", str(err))
        return json_response({"status": "success", "data": {"events": [_event(e) for e in events]}})

    return [Route("/api/v1/alerts/history", handle, methods=["GET"])]


def _event(event: AlertEvent) -> dict[str, Any]:
    return {
        "time": rfc3339(event.t_ms / 1000),
        "state": event.phase.value,
        "alertname": event.alertname,
        "labels": dict(event.labels.pairs),
        "annotations": dict(event.annotations.pairs),
        "value": None if math.isnan(event.value) else event.value,
    }
