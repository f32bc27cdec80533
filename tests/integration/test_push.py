"""Push with real server and agent processes: outages and crashes lose nothing."""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.conftest import Proc, free_port, multimonx, wait_for
from tests.integration.pushing import (
    agent_metric,
    create_key,
    host_seen,
    runs_without_gaps,
    start_server,
    stored_rounds,
    write_agent_config,
)

pytestmark = pytest.mark.integration

OUTAGE_SECONDS = 60.0


@pytest.mark.slow
def test_server_down_for_60s_then_back_no_sample_missing(
    tmp_path: Path, procs: Callable[..., Proc]
) -> None:
    data, spool = tmp_path / "server", tmp_path / "agent"
    port = free_port()
    token = create_key(data, "outage-agent")
    server = start_server(procs, data, port, "server-1")
    config = tmp_path / "agent.yml"
    agent_port = write_agent_config(config, port, token)
    agent = procs(multimonx("agent", "--config", str(config), "--data-dir", str(spool)), "agent")
    wait_for("the host on the server", lambda: host_seen(port))

    server.stop()
    outage_start_ms = time.time() * 1000
    end = time.monotonic() + OUTAGE_SECONDS
    wait_for(
        "60 s of outage with the spool growing",
        lambda: (
            time.monotonic() >= end
            and (agent_metric(agent_port, "multimonx_agent_spool_rounds") or 0) >= 30
        ),
        deadline=OUTAGE_SECONDS + 60,
        every=1.0,
    )
    outage_end_ms = time.time() * 1000

    server = start_server(procs, data, port, "server-2")
    wait_for(
        "the spool to drain",
        lambda: agent_metric(agent_port, "multimonx_agent_spool_rounds") == 0,
        deadline=120,
    )
    assert agent.stop() == 0
    assert server.stop() == 0

    points = stored_rounds(data)
    runs = runs_without_gaps(points)
    assert len(runs) == 1
    during = [t for t, _ in points if outage_start_ms <= t <= outage_end_ms]
    assert len(during) >= 50, f"only {len(during)} rounds stored from the outage"
    assert "Traceback" not in agent.output()


def test_agent_sigkill_mid_push_loses_nothing_and_replays_are_idempotent(
    tmp_path: Path, procs: Callable[..., Proc]
) -> None:
    """Each cycle lets the agent build a backlog while the server is down, then kills it with
    SIGKILL while it drains that backlog one round per request, back to back, so the kill
    lands in a request or in the acknowledgement that follows it."""
    data, spool = tmp_path / "server", tmp_path / "agent"
    port = free_port()
    token = create_key(data, "crash-agent")
    config = tmp_path / "agent.yml"
    agent_port = write_agent_config(config, port, token, interval="200ms", rounds_per_push=1)
    agent_cmd = multimonx("agent", "--config", str(config), "--data-dir", str(spool))
    rng = random.Random(7)
    for cycle in range(3):
        agent = procs(agent_cmd, f"agent-{cycle}")
        wait_for(
            "a backlog of 10 rounds of this run in the spool",
            lambda: (
                (agent_metric(agent_port, "multimonx_agent_rounds_total") or 0) >= 10
                and (agent_metric(agent_port, "multimonx_agent_spool_rounds") or 0) >= 10
            ),
        )
        server = start_server(procs, data, port, f"server-{cycle}")
        threshold = rng.randint(2, 6)
        wait_for(
            f"{threshold} acknowledged pushes",
            lambda: _pushes(agent_port) >= threshold,  # noqa: B023 (used within the cycle)
            every=0.01,
        )
        agent.signal(signal.SIGKILL)
        agent.wait()
        server.stop()

    server = start_server(procs, data, port, "server-final")
    agent = procs(agent_cmd, "agent-final")
    wait_for(
        "the spool to drain after the crashes, rounds of this run included",
        lambda: (
            _pushes(agent_port) >= 3
            and agent_metric(agent_port, "multimonx_agent_spool_rounds") == 0
        ),
        deadline=120,
    )
    assert agent.stop() == 0
    assert server.stop() == 0

    runs = runs_without_gaps(stored_rounds(data))
    print(f"rounds stored per agent run: {runs}")
    assert len(runs) == 4
    assert all(k >= 10 for k in runs[:3]), runs


def _pushes(agent_port: int) -> float:
    return agent_metric(agent_port, 'multimonx_agent_push_requests_total{code="2xx"}') or 0.0
