"""Decoding and validation of push requests (format: ``multimonx.model.wire``).

Everything is checked before anything is stored: a request is either wholly valid, giving a
``PushRequest`` ready to append, or rejected with an ``IngestError`` whose message names the
place of the first problem, for example
``rounds[3].families[2] 'node_cpu_seconds_total' samples[5]: label value count 1 != 2 label
names``. JSON is parsed with orjson (this is the hot path; no pydantic).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

import orjson

from multimonx.config import IngestSection
from multimonx.ingest.metadata import Metadata
from multimonx.model import (
    METRIC_NAME_LABEL,
    STALE_NAN,
    WIRE_VERSION,
    Labels,
    MetricType,
    valid_label_name,
    valid_metric_name,
)

MIN_TIMESTAMP_MS = 0
"""Oldest accepted sample time (the Unix epoch): backfill of any age after it is fine."""
MAX_FUTURE_MS = 24 * 3600 * 1000
"""How far past the server's clock a sample may be (generous, for skewed agent clocks)."""

_SPECIAL_VALUES = {"NaN": math.nan, "+Inf": math.inf, "-Inf": -math.inf, "stale": STALE_NAN}
_TYPES = frozenset(t.value for t in MetricType)
_ENCODINGS_GZIP = frozenset({"gzip", "x-gzip"})
_ENCODINGS_IDENTITY = frozenset({"", "identity"})


class IngestError(Exception):
    """A push request that cannot be accepted; ``status`` and ``error_type`` are for HTTP."""

    status = 400
    error_type = "bad_data"


class BadDataError(IngestError):
    """Malformed or invalid content (HTTP 400)."""


class PayloadTooLargeError(IngestError):
    """The body, once decompressed, or the number of series exceeds a limit (HTTP 413)."""

    status = 413
    error_type = "too_large"


class UnsupportedEncodingError(IngestError):
    """A Content-Encoding other than gzip or identity (HTTP 415)."""

    status = 415
    error_type = "unsupported_media_type"


@dataclass(frozen=True, slots=True)
class AgentReport:
    """What the agent said about itself in the ``agent`` object of a request."""

    instance: str = ""
    version: str = ""
    interval_seconds: float | None = None
    spool_bytes: int = 0
    dropped_samples: int = 0
    push_errors: int = 0


@dataclass(frozen=True, slots=True)
class HostSeen:
    """One host (``instance``) present in a request, with its job and newest sample time."""

    instance: str
    job: str
    newest_sample_ms: int


@dataclass(frozen=True, slots=True)
class PushRequest:
    """A fully validated request: samples ready for an Appender, and fleet information."""

    agent: AgentReport
    samples: tuple[tuple[Labels, int, float], ...]
    hosts: tuple[HostSeen, ...]
    metadata: tuple[tuple[str, Metadata], ...] = ()
    """Each family's TYPE and HELP (the last given, per name)."""


def decompress(body: bytes, content_encoding: str | None, limit: int) -> bytes:
    """The decoded body; at most ``limit`` bytes are ever inflated (gzip bombs stop early)."""
    encoding = (content_encoding or "").strip().lower()
    if encoding in _ENCODINGS_IDENTITY:
        if len(body) > limit:
            raise PayloadTooLargeError(f"body of {len(body)} bytes exceeds the {limit}-byte limit")
        return body
    if encoding not in _ENCODINGS_GZIP:
        raise UnsupportedEncodingError(
            f"unsupported Content-Encoding {content_encoding!r} (use gzip or identity)"
        )
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as err:
        raise BadDataError(f"invalid gzip data: {err}") from err
    if len(out) > limit or inflater.unconsumed_tail:
        raise PayloadTooLargeError(f"decompressed body exceeds the {limit}-byte limit")
    if not inflater.eof:
        raise BadDataError("truncated gzip data")
    if inflater.unused_data:
        raise BadDataError("unexpected data after the gzip stream")
    return out


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _sample_value(raw: object) -> float | None:
    if _is_number(raw):
        try:
            return float(raw)
        except OverflowError:
            return None
    if isinstance(raw, str):
        return _SPECIAL_VALUES.get(raw)
    return None


class _Decoder:
    """One request's validation state (limits, server time, where we are)."""

    def __init__(self, limits: IngestSection, now_ms: int) -> None:
        self.limits = limits
        self.max_t = now_ms + MAX_FUTURE_MS

    def label_value(self, where: str, name: str, value: object) -> str:
        if not isinstance(value, str):
            raise BadDataError(f"{where}: value of label {name!r} must be a string")
        if len(value) > self.limits.max_label_value_length:
            raise BadDataError(
                f"{where}: value of label {name!r} is {len(value)} characters long "
                f"(limit {self.limits.max_label_value_length})"
            )
        if "\x00" in value:
            raise BadDataError(f"{where}: value of label {name!r} contains a NUL byte")
        return value

    def label_name(self, where: str, name: object) -> str:
        if not isinstance(name, str) or not valid_label_name(name):
            raise BadDataError(f"{where}: invalid label name {name!r}")
        if name.startswith("__"):
            raise BadDataError(f"{where}: label name {name!r} is reserved (starts with '__')")
        return name

    def agent(self, raw: object) -> AgentReport:
        if raw is None:
            return AgentReport()
        if not isinstance(raw, dict):
            raise BadDataError("agent: must be an object")
        fields: dict[str, Any] = {}
        for key in ("instance", "version"):
            value = raw.get(key, "")
            if not isinstance(value, str) or len(value) > self.limits.max_label_value_length:
                raise BadDataError(f"agent.{key}: must be a string")
            fields[key] = value
        interval = raw.get("interval_seconds")
        if interval is not None:
            if not _is_number(interval) or not 0 < interval < math.inf:
                raise BadDataError("agent.interval_seconds: must be a positive number")
            fields["interval_seconds"] = float(interval)
        for key in ("spool_bytes", "dropped_samples", "push_errors"):
            value = raw.get(key, 0)
            if not _is_int(value) or value < 0:
                raise BadDataError(f"agent.{key}: must be a non-negative integer")
            fields[key] = value
        return AgentReport(**fields)

    def round_labels(self, where: str, raw: object) -> dict[str, str]:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            raise BadDataError(f"{where}.labels: must be an object")
        return {
            self.label_name(f"{where}.labels", name): self.label_value(
                f"{where}.labels", name, value
            )
            for name, value in raw.items()
        }

    def family(
        self,
        where: str,
        raw: object,
        base: Mapping[str, str],
        t_ms: int,
        out: list[tuple[Labels, int, float]],
    ) -> tuple[str, Metadata]:
        """Append the family's samples to ``out``; its name and metadata."""
        if not isinstance(raw, dict):
            raise BadDataError(f"{where}: must be an object")
        name = raw.get("name")
        if not isinstance(name, str) or not valid_metric_name(name):
            raise BadDataError(f"{where}: invalid metric name {name!r}")
        where = f"{where} {name!r}"
        kind = raw.get("type", MetricType.UNTYPED.value)
        if kind not in _TYPES:
            raise BadDataError(f"{where}: unknown metric type {raw.get('type')!r}")
        help_text = raw.get("help", "")
        if not isinstance(help_text, str):
            raise BadDataError(f"{where}: help must be a string")
        names_raw = raw.get("label_names", [])
        if not isinstance(names_raw, list):
            raise BadDataError(f"{where}: label_names must be a list")
        names = [self.label_name(f"{where} label_names", n) for n in names_raw]
        if len(set(names)) != len(names):
            raise BadDataError(f"{where}: duplicate label names {names}")
        clash = sorted(set(names) & set(base))
        if clash:
            raise BadDataError(f"{where}: labels {clash} are set by both the round and the samples")
        if len(names) + len(base) + 1 > self.limits.max_labels_per_series:
            raise BadDataError(
                f"{where}: {len(names) + len(base) + 1} labels per series "
                f"(limit {self.limits.max_labels_per_series})"
            )
        samples = raw.get("samples", [])
        if not isinstance(samples, list):
            raise BadDataError(f"{where}: samples must be a list")
        base_pairs = [(METRIC_NAME_LABEL, name), *base.items()]
        for i, row in enumerate(samples):
            here = f"{where} samples[{i}]"
            if not isinstance(row, list) or len(row) != 2 or not isinstance(row[0], list):
                raise BadDataError(f"{here}: must be [[label values...], value]")
            values, raw_value = row
            if len(values) != len(names):
                raise BadDataError(
                    f"{here}: label value count {len(values)} != {len(names)} label names"
                )
            value = _sample_value(raw_value)
            if value is None:
                raise BadDataError(
                    f'{here}: value {raw_value!r} is not a number, "NaN", "+Inf", "-Inf" or "stale"'
                )
            pairs = base_pairs + [
                (n, self.label_value(here, n, v)) for n, v in zip(names, values, strict=True)
            ]
            out.append((Labels(pairs), t_ms, value))
        # Prometheus calls the text format's untyped "unknown" in its metadata.
        return name, Metadata("unknown" if kind == MetricType.UNTYPED.value else kind, help_text)

    def request(self, doc: object) -> PushRequest:
        if not isinstance(doc, dict):
            raise BadDataError("request body must be a JSON object")
        version = doc.get("version")
        if not _is_int(version) or version != WIRE_VERSION:
            raise BadDataError(
                f"version: unsupported wire version {version!r} (want {WIRE_VERSION})"
            )
        agent = self.agent(doc.get("agent"))
        rounds = doc.get("rounds")
        if not isinstance(rounds, list):
            raise BadDataError("rounds: must be a list")
        samples: list[tuple[Labels, int, float]] = []
        hosts: dict[tuple[str, str], int] = {}
        metadata: dict[str, Metadata] = {}
        for r, rnd in enumerate(rounds):
            where = f"rounds[{r}]"
            if not isinstance(rnd, dict):
                raise BadDataError(f"{where}: must be an object")
            t_ms = rnd.get("timestamp")
            if not _is_int(t_ms):
                raise BadDataError(f"{where}.timestamp: must be an integer (milliseconds)")
            if not MIN_TIMESTAMP_MS <= t_ms <= self.max_t:
                raise BadDataError(
                    f"{where}.timestamp: {t_ms} is outside the accepted range "
                    f"[{MIN_TIMESTAMP_MS}, now + {MAX_FUTURE_MS // 1000} s]"
                )
            base = self.round_labels(where, rnd.get("labels"))
            families = rnd.get("families", [])
            if not isinstance(families, list):
                raise BadDataError(f"{where}.families: must be a list")
            for f, family in enumerate(families):
                name, meta = self.family(f"{where}.families[{f}]", family, base, t_ms, samples)
                metadata[name] = meta
            key = (base.get("instance") or agent.instance, base.get("job", ""))
            hosts[key] = max(hosts.get(key, t_ms), t_ms)
        series = len({labels for labels, _, _ in samples})
        if series > self.limits.max_series_per_request:
            raise PayloadTooLargeError(
                f"{series} series in one request (limit {self.limits.max_series_per_request})"
            )
        return PushRequest(
            agent=agent,
            samples=tuple(samples),
            hosts=tuple(HostSeen(i, j, t) for (i, j), t in hosts.items() if i),
            metadata=tuple(metadata.items()),
        )


def decode_push(
    body: bytes, content_encoding: str | None, limits: IngestSection, now_ms: int
) -> PushRequest:
    """Decompress, parse and validate one push request body; raises IngestError."""
    raw = decompress(body, content_encoding, limits.max_body_bytes)
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        raise BadDataError(f"invalid JSON: {err}") from err
    return _Decoder(limits, now_ms).request(doc)
