"""The push wire format: what an agent sends to ``POST /api/v1/metrics/collect``.

A request body is JSON (normally gzip-compressed, ``Content-Encoding: gzip``)::

    {"version": 1,
     "agent": {"instance": "web-1", "version": "0.1.0", "interval_seconds": 5.0,
               "spool_bytes": 0, "dropped_samples": 0, "push_errors": 0},
     "rounds": [ROUND, ...]}

Each ROUND is one collection round, with its original timestamp::

    {"timestamp": 1732240000000,
     "labels": {"instance": "web-1", "job": "node"},
     "families": [{"name": "node_cpu_seconds_total", "type": "counter", "help": "...",
                   "label_names": ["cpu", "mode"],
                   "samples": [[["0", "user"], 123.4], ...]}]}

``labels`` are added to every series of the round. A value is a JSON number, or one of the
strings ``"NaN"``, ``"+Inf"``, ``"-Inf"`` and ``"stale"`` (the staleness marker), since JSON has
no spelling for those. The server stores a request all or nothing and answers 200 only once
every sample of it is stored; replaying a request is harmless (exact duplicates are ignored).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from multimonx.model.exposition import MetricFamily
from multimonx.model.sample import is_stale_nan

WIRE_VERSION = 1
COLLECT_PATH = "/api/v1/metrics/collect"


def encode_value(value: float) -> float | str:
    """A sample value as the wire format spells it."""
    if math.isfinite(value):
        return value
    if is_stale_nan(value):
        return "stale"
    if math.isnan(value):
        return "NaN"
    return "+Inf" if value > 0 else "-Inf"


def encode_round(
    timestamp_ms: int, labels: Mapping[str, str], families: Iterable[MetricFamily]
) -> bytes:
    """Encode one collection round as a JSON object (UTF-8 bytes)."""
    fams: list[dict[str, Any]] = [
        {
            "name": f.name,
            "type": f.type.value,
            "help": f.help,
            "label_names": f.label_names,
            "samples": [[values, encode_value(v)] for values, v in f.samples],
        }
        for f in families
    ]
    body = {"timestamp": timestamp_ms, "labels": dict(labels), "families": fams}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def encode_push(agent: Mapping[str, Any], rounds: Sequence[bytes]) -> bytes:
    """Join already-encoded rounds into one request body (uncompressed JSON)."""
    head = json.dumps(
        {"version": WIRE_VERSION, "agent": dict(agent)}, separators=(",", ":"), allow_nan=False
    ).encode()
    return head[:-1] + b',"rounds":[' + b",".join(rounds) + b"]}"
