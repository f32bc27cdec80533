"""The REST API of alert rules managed through HTTP (``multimonx.rules.apirules``), stored in
the metadata database and evaluated by the rule manager. docs/api.md describes it.

Routes:
- ``POST /api/v1/alerts/rules``: create (201, ``Location`` names the new rule).
- ``GET /api/v1/alerts/rules``: every rule, oldest first.
- ``GET /api/v1/alerts/rules/{id}``: one rule.
- ``PUT /api/v1/alerts/rules/{id}``: replace the definition.
- ``PATCH /api/v1/alerts/rules/{id}``: change some fields (a JSON merge patch, RFC 7396:
  ``{"enabled": false}``; ``null`` removes a field).

Bodies are JSON (``Content-Type: application/json``, or ``application/merge-patch+json``).
- ``DELETE /api/v1/alerts/rules/{id}``: delete (the rule as it was).

A change is validated in full before anything is stored (every bad field listed in one 400,
under ``errors``), so a bad body never changes the running rules. Changes are serialised:
validate, store, then hand every valid stored rule to ``apply`` (the composition root swaps
the manager's groups), all under one lock, so the evaluated rules always match the store.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from multimonx.promql.catalog import Catalog, load_catalog
from multimonx.rules.apirules import (
    ApiRule,
    ApiRuleDefinition,
    ApiRuleError,
    alert_expr,
    load_api_rules,
    parse_definition,
    stored_definition,
)
from multimonx.storage import StorageUnavailable
from multimonx.storage.rulestore import RuleNameTakenError, RuleStore, StoredRule
from multimonx.web.envelope import error_response, json_response, rfc3339

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
"""The largest rule body accepted."""
JSON_MEDIA_TYPES = frozenset({"application/json", "application/merge-patch+json"})
"""The content types of a body. Requiring one keeps a page of another site from changing
rules with a form or a plain-text POST, which browsers send without asking first (CORS)."""
RULES_PATH = "/api/v1/alerts/rules"


@dataclass(frozen=True, slots=True)
class AlertRulesApi:
    """What the alert-rule routes work on. ``apply(rules)`` makes ``rules`` (every valid
    stored rule, disabled ones included) the evaluated API rules; ``receivers`` gives the
    receiver names channels may name (none: every channel is refused)."""

    store: RuleStore
    apply: Callable[[Sequence[ApiRule]], None]
    receivers: Callable[[], Collection[str]] = frozenset
    catalog: Catalog = field(default_factory=load_catalog)


def alert_rule_routes(api: AlertRulesApi) -> list[BaseRoute]:
    """The routes of ``/api/v1/alerts/rules`` and ``/api/v1/alerts/rules/{id}``."""
    h = _Handlers(api)
    return [
        Route(RULES_PATH, h.create, methods=["POST"]),
        Route(RULES_PATH, h.list_rules, methods=["GET"]),
        Route(RULES_PATH + "/{rule_id}", h.get, methods=["GET"]),
        Route(RULES_PATH + "/{rule_id}", h.replace, methods=["PUT"]),
        Route(RULES_PATH + "/{rule_id}", h.patch, methods=["PATCH"]),
        Route(RULES_PATH + "/{rule_id}", h.delete, methods=["DELETE"]),
    ]


class _BadRequestError(Exception):
    """A request refused before validation (too large, not JSON)."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        self.status = status
        self.error_type = error_type
        super().__init__(message)


class _NotFoundError(Exception):
    pass


class _Handlers:
    """The route handlers; ``_lock`` serialises changes (see the module docstring)."""

    def __init__(self, api: AlertRulesApi) -> None:
        self.api = api
        self._lock = threading.Lock()

    async def create(self, request: Request) -> Response:
        return await self._change(request, self._create, created=True)

    async def list_rules(self, request: Request) -> Response:
        return await self._run(lambda: [self._json(row) for row in self.api.store.list()])

    async def get(self, request: Request) -> Response:
        rule_id = request.path_params["rule_id"]
        return await self._run(lambda: self._json(self._existing(rule_id)))

    async def replace(self, request: Request) -> Response:
        rule_id = request.path_params["rule_id"]
        return await self._change(request, lambda body: self._replace(rule_id, body))

    async def patch(self, request: Request) -> Response:
        rule_id = request.path_params["rule_id"]
        return await self._change(request, lambda body: self._patch(rule_id, body))

    async def delete(self, request: Request) -> Response:
        rule_id = request.path_params["rule_id"]
        return await self._run(lambda: self._json(self._delete(rule_id)))

    async def _change(
        self, request: Request, change: Callable[[object], StoredRule], *, created: bool = False
    ) -> Response:
        """Read the JSON body and make the change; 201 and ``Location`` if ``created``."""
        try:
            body = await _read_json(request)
        except _BadRequestError as err:
            return error_response(err.status, err.error_type, str(err))
        return await self._run(lambda: self._json(change(body)), created=created)

    async def _run(self, work: Callable[[], Any], *, created: bool = False) -> Response:
        """``work`` on a worker thread, its result or error in the envelope."""
        try:
            data = await run_in_threadpool(work)
        except ApiRuleError as err:
            return json_response(
                {
                    "status": "error",
                    "errorType": "bad_data",
                    "error": f"invalid alert rule: {err}",
                    "errors": err.errors,
                },
                400,
            )
        except _NotFoundError as err:
            return error_response(404, "not_found", str(err))
        except StorageUnavailable as err:
            log.warning("alert rules: storage unavailable: %s", err)
            return error_response(503, "unavailable", f"storage unavailable: {err}")
        body = {"status": "success", "data": data}
        if created:
            return json_response(body, 201, {"Location": f"{RULES_PATH}/{data['id']}"})
        return json_response(body)

    def _validate(self, body: object, rule_id: str = "") -> ApiRuleDefinition:
        taken = {row.name for row in self.api.store.list() if row.rule_id != rule_id}
        return parse_definition(
            body, self.api.catalog, receivers=self.api.receivers(), taken_names=taken
        )

    def _create(self, body: object) -> StoredRule:
        with self._lock:
            definition = self._validate(body)
            stored = self._store(
                lambda json: self.api.store.create(
                    definition.name, json, enabled=definition.enabled
                ),
                definition,
            )
            self._apply()
        return stored

    def _replace(self, rule_id: str, body: object) -> StoredRule:
        with self._lock:
            self._existing(rule_id)
            return self._update(rule_id, self._validate(body, rule_id))

    def _patch(self, rule_id: str, patch: object) -> StoredRule:
        with self._lock:
            current = self._existing(rule_id)
            if not isinstance(patch, dict):
                raise ApiRuleError({"body": "must be a JSON object"})
            merged = merge_patch({**current.definition, "enabled": current.enabled}, patch)
            return self._update(rule_id, self._validate(merged, rule_id))

    def _update(self, rule_id: str, definition: ApiRuleDefinition) -> StoredRule:
        """Store a validated definition over rule ``rule_id`` and apply (lock held)."""
        stored = self._store(
            lambda json: self.api.store.replace(
                rule_id, definition.name, json, enabled=definition.enabled
            ),
            definition,
        )
        self._apply()
        return stored

    def _delete(self, rule_id: str) -> StoredRule:
        with self._lock:
            gone = self.api.store.delete(rule_id)
            if gone is None:
                raise _NotFoundError(_unknown(rule_id))
            self._apply()
        return gone

    def _store(
        self,
        write: Callable[[dict[str, Any]], StoredRule | None],
        definition: ApiRuleDefinition,
    ) -> StoredRule:
        """Write a definition (without ``enabled``: the store keeps it in its own column)."""
        json = definition.to_json()
        del json["enabled"]
        try:
            stored = write(json)
        except RuleNameTakenError as err:
            raise ApiRuleError({"name": str(err)}) from None
        if stored is None:
            raise _NotFoundError("the alert rule was deleted meanwhile")
        return stored

    def _apply(self) -> None:
        """Hand every valid stored rule to ``apply`` (lock held)."""
        self.api.apply(load_api_rules(self.api.store.list(), self.api.catalog))

    def _existing(self, rule_id: str) -> StoredRule:
        stored = self.api.store.get(rule_id)
        if stored is None:
            raise _NotFoundError(_unknown(rule_id))
        return stored

    def _json(self, stored: StoredRule) -> dict[str, Any]:
        """A stored rule as the API shows it: its definition, ``id``, times, and ``query``
        (what the engine evaluates), or ``error`` if it is no longer valid."""
        out: dict[str, Any] = {"id": stored.rule_id, **stored.definition}
        out["enabled"] = stored.enabled
        out["created"] = rfc3339(stored.created)
        out["updated"] = rfc3339(stored.updated)
        try:
            out["query"] = alert_expr(stored_definition(stored, self.api.catalog), self.api.catalog)
        except ApiRuleError as err:
            out["error"] = f"not evaluated: {err}"
        return out


def merge_patch(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """RFC 7396: ``target`` with ``patch`` merged in (objects recursively, ``null`` removes)."""
    out = dict(target)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_patch(out[key], value)
        else:
            out[key] = value
    return out


async def _read_json(request: Request) -> object:
    """The request's JSON body (at most ``MAX_BODY_BYTES``, of a ``JSON_MEDIA_TYPES`` type)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in JSON_MEDIA_TYPES:
        raise _BadRequestError(
            415, "unsupported_media_type", "send the rule as JSON (Content-Type: application/json)"
        )
    declared = request.headers.get("content-length")
    too_large = _BadRequestError(413, "too_large", f"body exceeds the {MAX_BODY_BYTES}-byte limit")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_large
        chunks.append(chunk)
    try:
        return orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError as err:
        raise _BadRequestError(400, "bad_data", f"body is not valid JSON: {err}") from None


def _unknown(rule_id: str) -> str:
    return f"no alert rule with id {rule_id!r}; GET {RULES_PATH} lists them"
