"""The Alertmanager API v2 (0.25's shapes and status codes) over the notifier's silences and
alerts, so ``amtool``, Grafana and other Alertmanager clients can work with MultiMonX; and
``/api/v1/notifications``, the delivery counters of every integration.

Routes (``am_routes``):
- ``GET /api/v2/silences`` (``filter=`` matchers), ``POST /api/v2/silences`` (create or,
  with ``id``, update), ``GET`` and ``DELETE /api/v2/silence/{silenceID}``.
- ``GET /api/v2/alerts`` (``active``, ``silenced``, ``inhibited``, ``unprocessed``,
  ``filter``, ``receiver``).
- ``GET /api/v2/status``: the minimal status (no cluster, no configuration text).
- ``GET /api/v1/notifications``: MultiMonX's own, in the ``/api/v1`` envelope.

Status codes are Alertmanager 0.25's: a silence body that cannot be read answers 400 and one
missing a required field 422, both as ``{"code": ..., "message": ...}``; a silence that
fails validation answers 400 with the reason as a JSON string; an unknown silence 404; a
silence id that is not a UUID 422. Expiring an expired silence answers 200.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from multimonx import __version__
from multimonx.model import Matcher, MatchType
from multimonx.model.regex import RegexError, compile_regex
from multimonx.notify import (
    AlertState,
    AlertStatus,
    Dispatcher,
    IntegrationStats,
    Silence,
    SilenceError,
    SilenceNotFoundError,
    Silences,
    SilenceState,
)
from multimonx.notify.matchers import MatcherError, parse_matchers
from multimonx.storage import StorageUnavailable
from multimonx.web.envelope import json_response, rfc3339

MAX_BODY_BYTES = 1 << 20


class _BadRequestError(ValueError):
    """A request Alertmanager would answer with 400 and the reason as a JSON string."""


class _BodyError(ValueError):
    """A silence body that Alertmanager's generated server refuses before its handler runs:
    400 for JSON it cannot read into a silence, 422 for a missing or empty required field,
    answered as ``{"code": ..., "message": ...}``."""

    def __init__(self, message: str, status: int = 400, code: int = 400) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def _unreadable(reason: str) -> _BodyError:
    return _BodyError(f'parsing silence body from "" failed, because {reason}')


def _required(name: str) -> _BodyError:
    return _BodyError(f"{name} in body is required", 422, 602)


def am_routes(
    dispatcher: Dispatcher,
    silences: Silences,
    *,
    clock: Callable[[], float] = time.time,
    version: str = __version__,
) -> list[BaseRoute]:
    """The Alertmanager API v2 routes and ``/api/v1/notifications``, for the app to mount."""
    api = _AlertmanagerApi(dispatcher, silences, clock, version)
    return [
        Route("/api/v2/silences", api.get_silences, methods=["GET"]),
        Route("/api/v2/silences", api.post_silences, methods=["POST"]),
        Route("/api/v2/silence/{silence_id}", api.get_silence, methods=["GET"]),
        Route("/api/v2/silence/{silence_id}", api.delete_silence, methods=["DELETE"]),
        Route("/api/v2/alerts", api.get_alerts, methods=["GET"]),
        Route("/api/v2/status", api.get_status, methods=["GET"]),
        Route("/api/v1/notifications", api.get_notifications, methods=["GET"]),
    ]


def _json(body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/json")


class _AlertmanagerApi:
    """The handlers and what they read."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        silences: Silences,
        clock: Callable[[], float],
        version: str,
    ) -> None:
        self.dispatcher = dispatcher
        self.silences = silences
        self.clock = clock
        self.version = version
        self.started = clock()

    async def get_silences(self, request: Request) -> Response:
        try:
            matchers = _filters(request.query_params.getlist("filter"))
        except _BadRequestError as err:
            return _json(str(err), 400)
        found = await run_in_threadpool(self.silences.query)
        now = self.clock()
        chosen = [s for s in found if _silence_matches_filter(s, matchers)]
        return _json([_silence_json(s, now) for s in _sorted_silences(chosen, now)])

    async def post_silences(self, request: Request) -> Response:
        body = await request.body()
        try:
            if len(body) > MAX_BODY_BYTES:
                raise _unreadable(f"the body exceeds {MAX_BODY_BYTES} bytes")
            silence = _parse_silence(body)
            if silence.id:
                silence_id = await run_in_threadpool(self.silences.update, silence)
            else:
                silence_id = await run_in_threadpool(self.silences.add, silence)
        except _BodyError as err:
            return _json({"code": err.code, "message": str(err)}, err.status)
        except SilenceError as err:
            return _json(f"Failed to create silence: {err}", 400)
        except SilenceNotFoundError:
            return _json("silence not found", 404)
        except StorageUnavailable as err:
            return _json(str(err), 500)
        return _json({"silenceID": silence_id})

    async def get_silence(self, request: Request) -> Response:
        silence_id = str(request.path_params["silence_id"])
        if (refused := _check_uuid(silence_id)) is not None:
            return refused
        try:
            silence = await run_in_threadpool(self.silences.get, silence_id)
        except SilenceNotFoundError:
            return Response(status_code=404)
        return _json(_silence_json(silence, self.clock()))

    async def delete_silence(self, request: Request) -> Response:
        silence_id = str(request.path_params["silence_id"])
        if (refused := _check_uuid(silence_id)) is not None:
            return refused
        try:
            await run_in_threadpool(self.silences.expire, silence_id)
        except SilenceNotFoundError:
            return Response(status_code=404)
        except SilenceError:
            pass  # already expired: Alertmanager 0.25 answers 200 as well
        except StorageUnavailable as err:
            return _json(str(err), 500)
        return Response(status_code=200)

    async def get_alerts(self, request: Request) -> Response:
        params = request.query_params
        try:
            wanted = {
                name: _bool_param(params.get(name), name)
                for name in ("active", "silenced", "inhibited", "unprocessed")
            }
            matchers = _filters(params.getlist("filter"))
            receiver = _receiver_regex(params.get("receiver"))
        except _BadRequestError as err:
            return _json(str(err), 400)
        statuses = await run_in_threadpool(self.dispatcher.alerts)
        out = []
        for status in statuses:
            if not all(m.matches(status.alert.labels) for m in matchers):
                continue
            if receiver is not None and not any(receiver(r) for r in status.receivers):
                continue
            if status.state is AlertState.ACTIVE and not wanted["active"]:
                continue
            if status.silenced_by and not wanted["silenced"]:
                continue
            if status.inhibited_by and not wanted["inhibited"]:
                continue
            out.append(_alert_json(status))
        return _json(out)

    async def get_status(self, request: Request) -> Response:
        return _json(
            {
                "cluster": {"peers": [], "status": "disabled"},
                "config": {"original": ""},
                "uptime": rfc3339(self.started),
                "versionInfo": {
                    "branch": "",
                    "buildDate": "",
                    "buildUser": "",
                    "goVersion": "",
                    "revision": "",
                    "version": self.version,
                },
            }
        )

    async def get_notifications(self, request: Request) -> Response:
        stats = await run_in_threadpool(self.dispatcher.stats)
        return json_response({"status": "success", "data": [_stats_json(s) for s in stats]})


# ---- silences ---------------------------------------------------------------------------


def _silence_json(silence: Silence, now: float) -> dict[str, Any]:
    return {
        "id": silence.id,
        "status": {"state": silence.state(now).value},
        "updatedAt": rfc3339(silence.updated_at),
        "comment": silence.comment,
        "createdBy": silence.created_by,
        "endsAt": rfc3339(silence.ends_at),
        "matchers": [_matcher_json(m) for m in silence.matchers],
        "startsAt": rfc3339(silence.starts_at),
    }


def _matcher_json(matcher: Matcher) -> dict[str, Any]:
    return {
        "isEqual": matcher.type in (MatchType.EQUAL, MatchType.REGEX),
        "isRegex": matcher.type in (MatchType.REGEX, MatchType.NOT_REGEX),
        "name": matcher.name,
        "value": matcher.value,
    }


def _sorted_silences(silences: Iterable[Silence], now: float) -> list[Silence]:
    """Active first (ending soonest first), then pending (starting soonest first), then
    expired (most recently ended first), as Alertmanager lists them."""

    def key(silence: Silence) -> tuple[int, float]:
        state = silence.state(now)
        if state is SilenceState.ACTIVE:
            return (0, silence.ends_at)
        if state is SilenceState.PENDING:
            return (1, silence.starts_at)
        return (2, -silence.ends_at)

    return sorted(silences, key=key)


def _silence_matches_filter(silence: Silence, matchers: list[Matcher]) -> bool:
    """Alertmanager's filter on silences: the filter matchers are tried on the silence's
    matchers read as labels (name to value); an empty filter value means "has no such
    matcher" for ``=``/``=~`` and "has one" for ``!=``/``!~``."""
    values = {m.name: m.value for m in silence.matchers}
    for matcher in matchers:
        present = matcher.name in values
        negative = matcher.type in (MatchType.NOT_EQUAL, MatchType.NOT_REGEX)
        if matcher.value == "" and present == negative:
            continue
        if not matcher.matches_value(values.get(matcher.name, "")):
            return False
    return True


def _parse_silence(body: bytes) -> Silence:
    """A silence from Alertmanager's ``postableSilence`` JSON; raises _BodyError, or
    SilenceError for an invalid regex."""
    try:
        record = orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise _unreadable(str(err)) from err
    if not isinstance(record, dict):
        raise _unreadable("the body is not a JSON object")
    raw_matchers = record.get("matchers")
    if raw_matchers is not None and not isinstance(raw_matchers, list):
        raise _unreadable("matchers is not an array")
    silence_id = record.get("id") or ""
    if not isinstance(silence_id, str):
        raise _unreadable("id is not a string")
    for name in ("comment", "createdBy", "endsAt", "matchers", "startsAt"):
        if record.get(name) is None:
            raise _required(name)
    if not raw_matchers:
        raise _BodyError("matchers in body should have at least 1 items", 422, 612)
    return Silence(
        matchers=tuple(_parse_matcher(i, m) for i, m in enumerate(raw_matchers)),
        starts_at=_parse_time(record["startsAt"], "startsAt"),
        ends_at=_parse_time(record["endsAt"], "endsAt"),
        created_by=_string(record, "createdBy"),
        comment=_string(record, "comment"),
        id=silence_id,
    )


def _parse_matcher(index: int, raw: object) -> Matcher:
    if not isinstance(raw, dict):
        raise _unreadable(f"matcher {index} is not a JSON object")
    for name in ("isRegex", "name", "value"):
        if raw.get(name) is None:
            raise _required(f"matchers.{index}.{name}")
    name, value = _string(raw, "name"), _string(raw, "value")
    is_regex, is_equal = raw["isRegex"], raw.get("isEqual", True)
    if not isinstance(is_regex, bool) or not isinstance(is_equal, bool):
        raise _unreadable(f"isRegex and isEqual of matcher {index} must be booleans")
    if is_regex:
        op = MatchType.REGEX if is_equal else MatchType.NOT_REGEX
    else:
        op = MatchType.EQUAL if is_equal else MatchType.NOT_EQUAL
    try:
        return Matcher.of(name, op, value)
    except ValueError as err:
        raise SilenceError(f"invalid label matcher {index}: {err}") from err


def _string(record: Mapping[str, Any], name: str) -> str:
    value = record.get(name)
    if not isinstance(value, str):
        raise _unreadable(f"{name} is not a string")
    return value


_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\d)[Tt](\d\d:\d\d:\d\d)(?:\.(\d+))?([Zz]|[+-]\d\d:\d\d)")


def _parse_time(raw: object, name: str) -> float:
    """Unix seconds from RFC 3339 text (any number of fraction digits, as Go writes them)."""
    match = _RFC3339.fullmatch(raw) if isinstance(raw, str) else None
    if match is None:
        raise _unreadable(f"{name} is not an RFC 3339 time: {raw!r}")
    day, clock, fraction, zone = match.groups()
    micros = (fraction or "")[:6].ljust(6, "0")
    offset = "+00:00" if zone in "Zz" else zone
    try:
        return datetime.fromisoformat(f"{day}T{clock}.{micros}{offset}").timestamp()
    except ValueError as err:
        raise _unreadable(f"{name} is not an RFC 3339 time: {err}") from err


def _check_uuid(silence_id: str) -> Response | None:
    try:
        uuid.UUID(silence_id)
    except ValueError:
        message = f'silenceID in path must be of type uuid: "{silence_id}"'
        return _json({"code": 601, "message": message}, 422)
    return None


# ---- alerts -----------------------------------------------------------------------------


def _alert_json(status: AlertStatus) -> dict[str, Any]:
    alert = status.alert
    return {
        "annotations": dict(alert.annotations.pairs),
        "endsAt": rfc3339(alert.ends_at),
        "fingerprint": alert.fingerprint,
        "receivers": [{"name": r} for r in status.receivers],
        "startsAt": rfc3339(alert.starts_at),
        "status": {
            "inhibitedBy": list(status.inhibited_by),
            "silencedBy": list(status.silenced_by),
            "state": status.state.value,
        },
        "updatedAt": rfc3339(status.updated_at),
        "generatorURL": alert.generator_url,
        "labels": dict(alert.labels.pairs),
    }


def _bool_param(raw: str | None, name: str) -> bool:
    if raw is None or raw in ("true", "1"):
        return True
    if raw in ("false", "0"):
        return False
    raise _BadRequestError(f"{name} in query must be of type boolean: {raw!r}")


def _receiver_regex(raw: str | None) -> Callable[[str], bool] | None:
    if raw is None:
        return None
    try:
        regex = compile_regex(raw)
    except RegexError as err:
        raise _BadRequestError(f"receiver in query is not a valid regex: {err}") from err
    return lambda name: regex.fullmatch(name) is not None


def _stats_json(stats: IntegrationStats) -> dict[str, Any]:
    return {
        "receiver": stats.receiver,
        "integration": stats.integration,
        "attempts": stats.attempts,
        "sent": stats.sent,
        "failed": stats.failed,
        "lastError": stats.last_error,
        "lastErrorAt": rfc3339(stats.last_error_at),
        "lastSuccessAt": rfc3339(stats.last_success_at),
    }


# ---- filter matchers --------------------------------------------------------------------


def _filters(texts: Iterable[str]) -> list[Matcher]:
    """The matchers of ``filter=`` values, each in Alertmanager's matcher syntax
    (``name="value"``, ``name=~"re"``, optionally braced and comma-separated; unquoted
    values run to the next comma)."""
    out: list[Matcher] = []
    for text in texts:
        try:
            out += parse_matchers(text)
        except MatcherError as err:
            raise _BadRequestError(f"bad matcher format: {err}") from None
    return out
