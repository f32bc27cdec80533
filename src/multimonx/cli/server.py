"""Composition root of the server: storage, keys, fleet registry and the web app, served by
uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import uvicorn

from multimonx import __version__
from multimonx.cli.alerting import AlertingRuntime, load_alerting_files
from multimonx.cli.gctune import tune_gc, tune_malloc
from multimonx.cli.keys import METADATA_FILE, open_keys
from multimonx.config import ServerConfig, StorageSection, parse_listen_address
from multimonx.ingest import UP_INTERVAL_S, FleetRegistry, UpWriter
from multimonx.model import MetricFamily
from multimonx.promql.engine import Engine
from multimonx.storage import (
    HostStore,
    Journal,
    JournalSync,
    MemoryStorage,
    PeriodicTask,
    Storage,
)
from multimonx.storage.tsdb import TSDB, TSDBOptions
from multimonx.storage.tsdb.selfmetrics import tsdb_families
from multimonx.web import QueryWorkers, create_app
from multimonx.web.overview import WARM_INTERVAL_S, Overview

log = logging.getLogger(__name__)

JOURNAL_FILE = "journal.db"
TSDB_DIR = "tsdb"
HOST_SAVE_INTERVAL_S = 30.0


class StorageRuntime:
    """The configured storage engine and its background work (flush, periodic log sync).

    ``close`` stops the periodic sync first (it syncs one last time), then closes the engine,
    which stops its flush thread, flushes what is due and closes its files.
    """

    def __init__(self, section: StorageSection, data_dir: Path) -> None:
        log_sync = JournalSync.FULL if section.sync == "batch" else JournalSync.NORMAL
        self._tsdb: TSDB | None = None
        self.storage: Storage
        if section.engine == "memory":
            journal = Journal(data_dir / JOURNAL_FILE, sync=log_sync)
            self.storage = MemoryStorage(journal)
            sync = journal.sync
        else:
            retention = section.retention
            options = TSDBOptions(
                chunk_range_ms=int(section.chunk_range * 1000),
                flush_delay_ms=int(section.flush_delay * 1000),
                log_sync=log_sync,
                raw_retention_ms=int(retention.raw * 1000),
                minute_retention_ms=int(retention.one_minute * 1000),
                five_minute_retention_ms=int(retention.five_minutes * 1000),
                max_bytes=retention.max_bytes,
                chunk_cache_bytes=section.chunk_cache,
            )
            self._tsdb = TSDB.open(data_dir / TSDB_DIR, options=options)
            self._directory = data_dir / TSDB_DIR
            self.storage = self._tsdb
            sync = self._tsdb.sync
        self._syncer = (
            PeriodicTask(sync, section.sync_interval) if section.sync == "interval" else None
        )

    def metrics(self) -> list[MetricFamily]:
        """The engine's own metric families (none for the memory engine)."""
        if self._tsdb is None:
            return []
        return tsdb_families(self._tsdb, self._directory)

    def start(self) -> None:
        """Start the engine's background flush and the periodic sync, if configured."""
        if self._tsdb is not None:
            self._tsdb.start()
        if self._syncer is not None:
            self._syncer.start()

    def close(self) -> None:
        """Stop the background work and close the engine (see the class docstring)."""
        if self._syncer is not None:
            self._syncer.stop()
        self.storage.close()


class _UvicornServer(uvicorn.Server):
    """uvicorn's server without its re-raising of the stop signal after shutdown.

    uvicorn re-raises SIGINT/SIGTERM once it has stopped serving, so that the default action
    ends the process; for SIGTERM that would skip closing the storage. Here the signal only
    asks uvicorn to stop, and the composition root finishes the shutdown and exits 0.
    SIGHUP reloads the rule files and the notification configuration, as in Prometheus.
    """

    on_hangup: Callable[[], object] = staticmethod(lambda: None)
    """What SIGHUP does (the runtime sets it to a reload); called on its own thread."""

    def _hangup(self, signum: int, frame: object) -> None:
        threading.Thread(target=self.on_hangup, name="reload", daemon=True).start()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        stop_signals = (signal.SIGINT, signal.SIGTERM)
        original = {sig: signal.signal(sig, self.handle_exit) for sig in stop_signals}
        if hasattr(signal, "SIGHUP"):  # not on Windows
            original[signal.SIGHUP] = signal.signal(signal.SIGHUP, self._hangup)
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)


class ServerRuntime:
    """The server's parts, built from a config and a data directory.

    Shutdown order matters: uvicorn first stops accepting connections and lets in-flight
    requests finish, so every push it acknowledged has been committed; only then are the key
    store and the storage closed (closing storage earlier would fail those commits with 503,
    which agents would retry, but there is no reason to make them).
    """

    def __init__(self, config: ServerConfig, data_dir: Path) -> None:
        self.config = config
        self.data_dir = data_dir
        files = load_alerting_files(config)  # before anything is opened: a bad file stops here
        self._storage = StorageRuntime(config.storage, data_dir)
        self.storage = self._storage.storage
        self.keys = open_keys(data_dir)
        self.fleet = FleetRegistry(down_after_intervals=config.ingest.down_after_intervals)
        self._hosts = HostStore(data_dir / METADATA_FILE)
        self.fleet.restore(self._hosts.load())
        if config.storage.engine == "memory":
            self.fleet.seed(self.storage)  # cheap in memory; covers data from older versions
        self._host_saver = PeriodicTask(self._save_hosts, HOST_SAVE_INTERVAL_S)
        self._up_writer = PeriodicTask(
            UpWriter(self.fleet, self.storage, time.time).write, UP_INTERVAL_S
        )
        self._query_workers = QueryWorkers(config.query.max_concurrency)
        self.engine = Engine(
            self.storage,
            lookback_ms=round(config.query.lookback_delta * 1000),
            timeout_s=config.query.timeout,
            max_samples=config.query.max_samples,
        )
        self.alerting = AlertingRuntime(config, files, self.engine, self.storage, data_dir)
        self.app = create_app(
            storage=self.storage,
            keys=self.keys,
            fleet=self.fleet,
            ingest_config=config.ingest,
            storage_metrics=lambda: [*self._storage.metrics(), *self.alerting.metrics()],
            cors_origin=config.web.cors_origin,
            engine=self.engine,
            query_workers=self._query_workers,
            rule_groups=self.alerting.rules.status,
            extra_routes=self.alerting.routes(),
        )
        self._overview: Overview = self.app.state.overview
        self._overview_warmer = PeriodicTask(self._overview.warm, WARM_INTERVAL_S, final_call=False)
        host, port = parse_listen_address(config.listen_address)
        self._uvicorn = _UvicornServer(
            uvicorn.Config(
                self.app,
                host=host,
                port=port,
                log_level="warning",
                access_log=False,
                lifespan="off",
                server_header=False,
            )
        )
        self._uvicorn.on_hangup = self.alerting.reloader.reload
        tune_gc()  # the storage, its index and the host list are loaded
        tune_malloc()

    @property
    def url(self) -> str:
        """The server's base URL as bound (the real port when 0 was asked for)."""
        sock = self._uvicorn.servers[0].sockets[0]
        host, port = sock.getsockname()[:2]
        return f"http://{host}:{port}"

    def _save_hosts(self) -> None:
        self._hosts.save(self.fleet.snapshot())

    async def serve(self, on_started: Callable[[str], None] = lambda url: None) -> None:
        """Serve until SIGINT/SIGTERM; calls ``on_started(url)`` once listening."""
        self._storage.start()
        self._host_saver.start()
        self._up_writer.start()
        self.alerting.start()
        self._overview.warm()  # the first overview then finds its sparklines computed
        self._overview_warmer.start()
        serving = asyncio.create_task(self._uvicorn.serve())
        while not self._uvicorn.started:
            if serving.done():
                await serving  # startup failed (port in use...): raise it
                raise SystemExit(1)
            await asyncio.sleep(0.05)
        log.info(
            "server %s listening on %s (data: %s, storage: %s)",
            __version__,
            self.url,
            self.data_dir,
            self.config.storage.engine,
        )
        on_started(self.url)
        await serving

    def close(self) -> None:
        """Stop alerting, the overview's warmer and the up writer, save the host list, close
        the metadata files, then the storage (after serving has stopped)."""
        self.alerting.close()  # no rule or up writes into a closing storage
        self._overview_warmer.stop()
        self._up_writer.stop()
        self._host_saver.stop()
        self._query_workers.close()
        self._hosts.close()
        self.keys.close()
        self._storage.close()


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run ``main`` on uvloop where it is installed (a dependency except on Windows: the
    per-connection work of the HTTP server is several times cheaper there than on asyncio's
    own loop), else on asyncio's loop."""
    try:
        import uvloop  # optional: not on Windows
    except ImportError:
        asyncio.run(main)
        return
    uvloop.run(main)


def run_server(config: ServerConfig, data_dir: Path) -> None:
    """Run the server in the foreground until interrupted."""
    runtime = ServerRuntime(config, data_dir)
    try:
        run_loop(runtime.serve(lambda url: print(f"server: {url}", flush=True)))
    finally:
        runtime.close()
