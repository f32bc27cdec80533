"""One JSON POST over HTTP, as the webhook integration and the Alertmanager forwarder send
it, with failures sorted into retryable and not (Alertmanager's ``notify.Retrier``).

Standard library only (``urllib.request``): no proxy from the environment (Alertmanager's
HTTP client uses none unless configured) and no redirects followed, since following one
would turn the POST into a GET; a 3xx answer is a failure that retrying cannot fix.
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from typing import Final
from urllib.parse import urlsplit

from multimonx import __version__
from multimonx.notify.notification import DeliveryError

USER_AGENT: Final = f"MultiMonX/{__version__}"
_EXCERPT_BYTES: Final = 200


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def endpoint(url: str) -> str:
    """The scheme, host and port of ``url``, for messages: never its path, query or
    credentials, which may carry tokens."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


def retryable_status(status: int) -> bool:
    """Whether an HTTP status is worth another attempt: 5xx and 429."""
    return status >= 500 or status == 429


def post_json(url: str, body: bytes, *, timeout: float) -> int:
    """POST ``body`` as ``application/json``; the status of a 2xx answer. Raises
    DeliveryError for anything else: connection errors, timeouts, 5xx and 429 retryable;
    other statuses not, with the status and the start of the answer's body."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise DeliveryError(f"not an http(s) URL: {endpoint(url)}", retryable=False)
    request = urllib.request.Request(  # noqa: S310 - http(s) only, checked above
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
    )
    where = endpoint(url)
    try:
        with _opener().open(request, timeout=timeout) as response:
            response.read(64 * 1024)  # drain a little, so the server sees a clean close
            return int(response.status)
    except urllib.error.HTTPError as err:
        with err:
            excerpt = _excerpt(err)
        raise DeliveryError(
            f"POST {where}: HTTP {err.code}{': ' + excerpt if excerpt else ''}",
            retryable=retryable_status(err.code),
        ) from None
    except urllib.error.URLError as err:
        raise DeliveryError(f"POST {where}: {err.reason}") from None
    except (OSError, http.client.HTTPException) as err:  # timeouts, resets, bad answers
        raise DeliveryError(f"POST {where}: {type(err).__name__}: {err}") from None


def _excerpt(err: urllib.error.HTTPError) -> str:
    try:
        raw = err.read(_EXCERPT_BYTES + 1)
    except (OSError, http.client.HTTPException):
        return ""
    text = raw[:_EXCERPT_BYTES].decode("utf-8", "replace").strip()
    text = " ".join(text.split())
    return text + ("..." if len(raw) > _EXCERPT_BYTES else "")
