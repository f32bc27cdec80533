"""``POST /-/reload`` (and ``PUT``): reload the rule files and the notification
configuration, as Prometheus's and Alertmanager's lifecycle endpoint does: 200 with an
empty body on success, 500 with ``failed to reload config: ...`` when a file is not valid
(the running configuration stays)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route


def lifecycle_routes(reload: Callable[[], str]) -> list[BaseRoute]:
    """The reload route; ``reload()`` returns ``""`` on success, else the errors."""

    async def handle(request: Request) -> Response:
        errors = await run_in_threadpool(reload)  # file reads and parsing: off the loop
        if errors:
            return PlainTextResponse(f"failed to reload config: {errors}\n", 500)
        return PlainTextResponse("")

    return [Route("/-/reload", handle, methods=["POST", "PUT"])]
