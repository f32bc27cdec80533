"""Grafana's "Node Exporter Full" dashboard against our server, beside a real Prometheus.

DESIGN.md's yardstick: every PromQL expression of ``../shared/compat/node-exporter-full.json``
must be accepted by our server, and the panels whose metrics the agent collects must show
data. One real agent collects every second; it pushes to our real server and a real
Prometheus 2.42 scrapes its ``/metrics`` (same job and instance labels). Every expression of
the dashboard, with Grafana's variables substituted as ``bench/dashboard_coverage.py`` does,
is then evaluated on both at one common time: ours must answer each without an error, and
return data wherever Prometheus does over the same agent. The dashboard's template variables
(``label_values(...)``) are answered through ``/api/v1/label/<name>/values`` on both.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from tests.integration.conftest import (
    Proc,
    bench_module,
    free_port,
    http_get,
    multimonx,
    start_prometheus,
    wait_for,
)
from tests.integration.pushing import (
    INSTANCE,
    create_key,
    start_server,
    write_agent_config,
)

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO.parent / "shared" / "compat" / "node-exporter-full.json"
JOB = "node"
COLLECT_SECONDS = 25.0


def _coverage() -> ModuleType:
    """bench/dashboard_coverage.py (a script beside its own helpers, not a package)."""
    return bench_module("dashboard_coverage")


def _prometheus(procs: Callable[..., Proc], tmp_path: Path, agent_port: int) -> str:
    port = start_prometheus(
        procs,
        tmp_path,
        f"""
global: {{scrape_interval: 1s, scrape_timeout: 1s}}
scrape_configs:
  - job_name: {JOB}
    static_configs:
      - targets: ["127.0.0.1:{agent_port}"]
        labels: {{instance: {INSTANCE}}}
""",
        data="tsdb",
    )
    base = f"http://127.0.0.1:{port}"
    wait_for("Prometheus ready", lambda: http_get(f"{base}/-/ready")[0] == 200)
    return base


@pytest.mark.skipif(not DASHBOARD.exists(), reason="../shared/compat is not beside the repo")
def test_every_dashboard_query_is_answered_as_prometheus_answers_it(
    tmp_path: Path, procs: Callable[..., Proc]
) -> None:
    coverage = _coverage()
    dashboard = json.loads(DASHBOARD.read_text())
    expressions = sorted(set(coverage.panel_expressions(dashboard)))
    assert len(expressions) > 250

    server_data = tmp_path / "server"
    token = create_key(server_data, "dashboard")
    server_port = free_port()
    start_server(procs, server_data, server_port, "server")
    ours = f"http://127.0.0.1:{server_port}"
    agent_config = tmp_path / "agent.yml"
    agent_port = write_agent_config(agent_config, server_port, token, rounds_per_push=1)
    # The dashboard has filesystem and connection panels: collect them too, every second like
    # the rest (by default they run every 30 s and 15 s, too slow for the panels' rate[10s]
    # at this test's 1 s cadence; Prometheus scraping /metrics every second sees them anyway).
    agent_config.write_text(
        agent_config.read_text()
        .replace("  filesystem: {enabled: false}\n", "  filesystem: {interval: 1s}\n")
        .replace("  connections: {enabled: false}\n", "  connections: {interval: 1s}\n")
    )
    procs(
        multimonx("agent", "--config", str(agent_config), "--data-dir", str(tmp_path / "agent")),
        "agent",
    )
    prometheus = _prometheus(procs, tmp_path, agent_port)

    def both_have_data() -> bool:
        probe = f'rate(node_cpu_seconds_total{{instance="{INSTANCE}"}}[10s])'
        at = time.time() - 2
        return all(coverage.instant(base, probe, at).has_data for base in (ours, prometheus))

    wait_for("both to hold rates of the agent's counters", both_have_data, deadline=120)
    end = time.monotonic() + COLLECT_SECONDS  # a few windows of $__range and $__rate_interval
    wait_for("the collection window", lambda: time.monotonic() >= end, deadline=120, every=0.5)
    at = time.time() - 2  # pushes of the last second may still be on their way

    variables = {**coverage.GRAFANA_VARIABLES, "job": JOB, "node": INSTANCE}
    errors: dict[str, str] = {}
    missing: list[str] = []
    answered = {"ours": 0, "prometheus": 0}
    for expr in expressions:
        query = coverage.substitute(expr, variables)
        theirs = coverage.instant(prometheus, query, at)
        mine = coverage.instant(ours, query, at)
        answered["prometheus"] += theirs.has_data
        answered["ours"] += mine.has_data
        if mine.error is not None and theirs.error is None:
            errors[query] = mine.error
        elif theirs.has_data and not mine.has_data:
            missing.append(query)
    print(f"\n{len(expressions)} expressions; returning data: {answered}")
    assert not errors, f"our server rejected queries Prometheus accepts: {errors}"
    assert not missing, f"data in Prometheus but not in ours: {missing}"

    chained_ours = {"job": JOB}
    chained_theirs = {"job": JOB}
    for name, query in coverage.template_queries(dashboard):
        mine_values = coverage.label_values(ours, coverage.substitute(query, chained_ours), at)
        their_values = coverage.label_values(
            prometheus, coverage.substitute(query, chained_theirs), at
        )
        assert mine_values == their_values, (name, query)
        for chained, values in ((chained_ours, mine_values), (chained_theirs, their_values)):
            if values:
                chained[name] = INSTANCE if INSTANCE in values else values[0]
