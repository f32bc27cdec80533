"""Composition root of the agent: builds the source, collectors, gatherer, spool, pusher and
``/metrics`` server from an ``AgentConfig`` and runs them."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from multimonx import __version__
from multimonx.agent.collectors import build_collectors
from multimonx.agent.expose import AccessPolicy, MetricsServer
from multimonx.agent.gather import Gatherer, Round
from multimonx.agent.push import Pusher
from multimonx.agent.source import SystemSource
from multimonx.agent.spool import Spool
from multimonx.config import AgentConfig, ConfigError
from multimonx.model import MetricFamily, encode_round

log = logging.getLogger(__name__)


class AgentRuntime:
    """A running agent: collection loop, optional pusher, optional ``/metrics`` server.

    ``start`` returns once everything is running; ``stop`` winds down in the reverse order of
    the data flow: first collection (no new rounds), then the pusher (its in-flight request is
    abandoned, which is safe because unacknowledged rounds stay in the spool), then the spool
    (closing the database), and last the ``/metrics`` socket.
    """

    def __init__(self, config: AgentConfig, data_dir: Path) -> None:
        self.config = config
        section = config.collector
        self._labels = {"instance": section.instance, "job": section.job, **section.labels}
        self._stop = threading.Event()
        self._spool: Spool | None = None
        self._pusher: Pusher | None = None
        if section.server_url:
            spool_dir = Path(config.spool.directory) if config.spool.directory else data_dir
            spool_dir.mkdir(parents=True, exist_ok=True)
            self._spool = Spool(spool_dir / "agent-spool.db", config.spool.max_bytes)
            self._pusher = Pusher(
                self._spool,
                section.server_url,
                section.api_key,
                agent_info=self._agent_info,
                timeout=section.timeout,
                max_rounds=config.spool.max_rounds_per_push,
                backoff_initial=config.spool.backoff_initial,
                backoff_max=config.spool.backoff_max,
            )
        collectors = build_collectors(config.metrics, SystemSource(), section.interval)
        self.gatherer = Gatherer(collectors, extra=self._pusher_families)
        self._metrics: MetricsServer | None = None
        if config.web.enabled:
            web = config.web
            try:
                policy = AccessPolicy.parse(
                    web.allow,
                    web.bearer_token,
                    web.basic_auth.username if web.basic_auth else None,
                    web.basic_auth.password if web.basic_auth else None,
                )
            except ValueError as err:
                raise ConfigError(str(err)) from None
            self._metrics = MetricsServer(web.listen_address, self.gatherer.snapshot, policy)
        self._loop = threading.Thread(target=self._run, name="collect", daemon=True)

    @property
    def metrics_url(self) -> str | None:
        """URL of the agent's ``/metrics``, if it serves one."""
        return self._metrics.url if self._metrics else None

    def _agent_info(self) -> dict[str, object]:
        return {
            "instance": self.config.collector.instance,
            "version": __version__,
            "interval_seconds": self.config.collector.interval,
        }

    def _pusher_families(self) -> list[MetricFamily]:
        return self._pusher.families() if self._pusher else []

    def _on_round(self, rnd: Round) -> None:
        if self._spool is None or self._pusher is None:
            return
        body = encode_round(rnd.timestamp_ms, self._labels, rnd.families)
        self._spool.append(body, rnd.samples)
        self._pusher.wake()

    def _run(self) -> None:
        self.gatherer.run_forever(self.config.collector.interval, self._stop, self._on_round)

    def start(self) -> None:
        """Start serving ``/metrics``, pushing and collecting."""
        if self._metrics:
            self._metrics.start()
        if self._pusher:
            self._pusher.start()
        self._loop.start()
        log.info(
            "agent %s started: instance=%s collectors=%s push=%s metrics=%s",
            __version__,
            self.config.collector.instance,
            ",".join(self.gatherer.collector_names),
            self.config.collector.server_url or "off",
            self.metrics_url or "off",
        )

    def stop(self) -> None:
        """Stop collecting, pushing and serving (see the class docstring for the order)."""
        self._stop.set()
        self._loop.join(timeout=30)
        if self._pusher:
            self._pusher.stop()
        if self._spool:
            self._spool.close()
        if self._metrics:
            self._metrics.stop()
