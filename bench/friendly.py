"""Latency of the friendly REST API at fleet scale (issue 4's targets: ``metrics/current``
under 20 ms and ``metrics/history`` over 24 h under 100 ms at 1,000 hosts; issue 6's: the
dashboard's ``/api/v1/overview`` well under 300 ms at 1,000 hosts).

Loads ``bench.nodegen``'s node_exporter-like fleet into the embedded TSDB (or the memory
storage) in a temporary directory, then times each endpoint in-process through httpx's ASGI
transport (the whole request: routing, engine, JSON) and prints medians. Run::

    python bench/friendly.py --hosts 1000 --hours 1

Histories longer than the loaded data read what there is: load ``--hours 24`` (slow) to time
a full 24 h history.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from multimonx.config import IngestSection
from multimonx.ingest import FleetRegistry
from multimonx.storage import MemoryStorage, Storage
from multimonx.storage.tsdb import TSDB
from multimonx.web import create_app
from nodegen import DataConfig, make_blocks


def load(storage: Storage, cfg: DataConfig) -> float:
    """Append the whole fleet; returns the seconds it took."""
    t0 = time.perf_counter()
    blocks = make_blocks(cfg)
    for first, rounds in cfg.batches():
        for block in blocks:
            values, stamps = block.batch(first, rounds)
            app = storage.appender()
            for labels, ts, vs in zip(block.labels, stamps.tolist(), values.tolist(), strict=True):
                for t, v in zip(ts, vs, strict=True):
                    app.append(labels, t, v)
            app.commit()
    return time.perf_counter() - t0


def timed(fn: Callable[[], httpx.Response], runs: int) -> tuple[float, float, int]:
    """(median ms, best ms, response bytes) of ``runs`` calls (after one warm-up call)."""
    resp = fn()
    assert resp.status_code == 200, resp.text[:500]
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), min(times), len(resp.content)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--series-per-host", type=int, default=200)
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--interval", type=int, default=15, help="seconds between samples")
    parser.add_argument("--storage", choices=("tsdb", "memory"), default="tsdb")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    end_ms = int(time.time() * 1000) // 60_000 * 60_000
    cfg = DataConfig(
        hosts=args.hosts,
        series_per_host=args.series_per_host,
        hours=args.hours,
        interval_ms=args.interval * 1000,
        end_ms=end_ms,
        rounds_per_batch=20,
    )
    with tempfile.TemporaryDirectory() as tmp:
        storage: Any = TSDB.open(Path(tmp)) if args.storage == "tsdb" else MemoryStorage()
        seconds = load(storage, cfg)
        print(f"loaded {cfg.samples:,} samples ({args.hosts} hosts) in {seconds:.1f} s")
        flush = getattr(storage, "flush", None)
        if flush is not None:  # as the server's periodic flush would have done meanwhile
            flush(now_ms=end_ms)
        fleet = FleetRegistry(clock=lambda: end_ms / 1000)
        fleet.seed(storage)
        app = create_app(
            storage=storage,
            keys=None,
            fleet=fleet,
            ingest_config=IngestSection(require_api_key=False),
            clock=lambda: end_ms / 1000,
        )
        host = "host-0001"

        def get(url: str) -> Callable[[], httpx.Response]:
            async def go() -> httpx.Response:
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://b") as c:
                    return await c.get(url)

            return lambda: asyncio.run(go())

        cases = {
            "current (all metrics, one host)": f"/api/v1/metrics/current?host={host}",
            "history cpu.usage.total 1h": (
                f"/api/v1/metrics/history?host={host}&metric=cpu.usage.total&range=1h"
            ),
            "history cpu.usage.total 24h": (
                f"/api/v1/metrics/history?host={host}&metric=cpu.usage.total&range=24h"
            ),
            "history disk.usage.percent 24h": (
                f"/api/v1/metrics/history?host={host}&metric=disk.usage.percent&range=24h"
            ),
            "servers (fleet)": "/api/v1/servers",
            "overview (fleet) 1h": "/api/v1/overview?range=1h",
            "overview (fleet) 24h": "/api/v1/overview?range=24h",
            "catalog": "/api/v1/metrics/catalog",
        }
        print(f"{'endpoint':36} {'median ms':>10} {'best ms':>9} {'bytes':>9}")
        for name, url in cases.items():
            fleet_wide = name.startswith(("servers", "overview"))
            runs = max(3, args.runs // 4) if fleet_wide else args.runs
            median, best, size = timed(get(url), runs)
            print(f"{name:36} {median:10.1f} {best:9.1f} {size:9,}")
        storage.close()


if __name__ == "__main__":
    main()
