"""How much of Grafana's "Node Exporter Full" dashboard the agent fills, beside node_exporter.

Starts, on 127.0.0.1 with free ports and temporary directories, the real
``prometheus-node-exporter``, our ``multimonx agent`` (default collectors, 1 s interval), a
second agent with every optional collector switched on as well (those missing hardware here
switch themselves off), and one real Prometheus scraping all three every second (jobs ``node``,
``agent`` and ``agent_all``). After a collection window it evaluates every unique PromQL
expression of the dashboard (``../shared/compat/node-exporter-full.json`` beside the
repository, or ``--dashboard``) once per target,
as an instant query at one common time, with the dashboard's variables substituted for that
target (``$node`` = its instance, ``$job`` = its job, ``$__rate_interval`` = 10s, ``$__interval``
= 5s, ``$__range`` = 30s). An expression "returns data" when the result is a scalar or string,
or a vector/matrix with at least one series. The templating queries (Grafana's
``label_values(...)``) are answered separately through ``/api/v1/label/<label>/values``.

It prints the totals per target, the expressions only node_exporter answers (grouped by the
metric names the agent does not expose), the query errors, and the metric names the dashboard
references that node_exporter's ``/metrics`` has and the agent's does not.

    .venv/bin/python bench/dashboard_coverage.py [--seconds 40]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from procstat import free_port

DASHBOARD = Path(__file__).resolve().parents[2] / "shared" / "compat" / "node-exporter-full.json"
GRAFANA_VARIABLES = {
    "__rate_interval": "10s",
    "__rate_interval_ms": "10000",
    "__interval": "5s",
    "__interval_ms": "5000",
    "__range": "30s",
    "__range_s": "30",
    "__range_ms": "30000",
}
OPTIONAL_COLLECTORS = ("hwmon", "processes", "gpu", "smart")
PROMQL_WORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset"}
    | {"and", "or", "unless", "inf", "nan"}
)
# Loopback only: never let an environment proxy see these requests.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True, slots=True)
class Target:
    """One scraped endpoint: its Prometheus job and instance label."""

    job: str
    port: int

    @property
    def instance(self) -> str:
        """The ``instance`` label Prometheus gives the target's series."""
        return f"127.0.0.1:{self.port}"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one instant query returned: data or not, or the API's error."""

    has_data: bool
    error: str | None = None


def fetch(url: str) -> bytes:
    """GET a loopback URL and return the body."""
    with _OPENER.open(url, timeout=30) as response:
        body: bytes = response.read()
        return body


def api(base: str, path: str, params: Mapping[str, str | list[str]]) -> dict[str, object]:
    """GET from Prometheus's HTTP API; an error reply is returned, not raised."""
    try:
        body = fetch(f"{base}{path}?{urllib.parse.urlencode(params, doseq=True)}")
    except urllib.error.HTTPError as err:
        body = err.read()
    reply: dict[str, object] = json.loads(body)
    return reply


# --- the dashboard -------------------------------------------------------------------------


def panel_expressions(node: object) -> Iterator[str]:
    """Every ``expr`` under ``node`` (panels, targets, nested rows), templating excluded."""
    if isinstance(node, dict):
        expr = node.get("expr")
        if isinstance(expr, str) and expr.strip():
            yield expr.strip()
        for key, value in node.items():
            if key != "templating":
                yield from panel_expressions(value)
    elif isinstance(node, list):
        for item in node:
            yield from panel_expressions(item)


def template_queries(dashboard: Mapping[str, object]) -> list[tuple[str, str]]:
    """``(variable name, query)`` of the dashboard's query variables, in dashboard order."""
    templating = dashboard.get("templating")
    variables = templating.get("list", []) if isinstance(templating, dict) else []
    queries = []
    for variable in variables:
        if variable.get("type") != "query":
            continue
        query = variable.get("query")
        if isinstance(query, dict):
            query = query.get("query")
        if isinstance(query, str) and query.strip():
            queries.append((str(variable["name"]), query.strip()))
    return queries


def substitute(expr: str, variables: Mapping[str, str]) -> str:
    """Replace ``$var``, ``${var}``, ``${var:format}`` and ``[[var]]``; unknown ones stay."""

    def value(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group is not None)
        return variables.get(name, match.group(0))

    return re.sub(r"\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)\]\]|\$(\w+)", value, expr)


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects (a lexical approximation of PromQL's parser)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = re.findall(r"(?<![\w:.])([a-zA-Z_:][\w:]*)(?![\w:]|\s*\()", text)
    return {name for name in names if name.lower() not in PROMQL_WORDS}


# --- processes -----------------------------------------------------------------------------


def agent_config(port: int, optional: bool) -> str:
    """The agent's YAML: 1 s rounds, ``/metrics`` on ``port``, optional collectors on or off."""
    lines = ["collector: {interval: 1s}", f'web: {{listen_address: "127.0.0.1:{port}"}}']
    lines.append("metrics:")  # the default collectors stay as they are by default
    for name in OPTIONAL_COLLECTORS:
        lines.append(f"  {name}: {{enabled: {str(optional).lower()}}}")
    return "\n".join(lines) + "\n"


def prometheus_config(targets: list[Target]) -> str:
    """One scrape job per target, every second."""
    jobs = "".join(
        f'  - job_name: {target.job}\n    static_configs:\n      - targets: ["{target.instance}"]\n'
        for target in targets
    )
    return (
        "global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}\n"
        f"scrape_configs:\n{jobs}"
    )


def start(argv: list[str], log: IO[bytes]) -> subprocess.Popen[bytes]:
    """Start a process with its output going to ``log``."""
    return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    """Terminate the processes we started, by PID, killing any that linger."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def ensure_alive(procs: list[subprocess.Popen[bytes]]) -> None:
    """Fail the measurement if one of our processes has exited."""
    for proc in procs:
        if proc.poll() is not None:
            raise SystemExit(f"{proc.args!r} exited with {proc.returncode}")


def wait_for(
    what: str, ready: Callable[[], bool], procs: list[subprocess.Popen[bytes]], deadline: float
) -> None:
    """Poll ``ready()`` until true; fail if the deadline passes or a process died."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        ensure_alive(procs)
        try:
            if ready():
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.25)
    raise SystemExit(f"timed out waiting for {what}")


def target_health(base: str) -> dict[str, str]:
    """Each active target's job and health, with the last scrape error if it is not up."""
    reply = api(base, "/api/v1/targets", {"state": "active"})
    data = reply.get("data")
    active = data.get("activeTargets", []) if isinstance(data, dict) else []
    return {
        str(target["labels"]["job"]): str(target["health"])
        + (f" ({target['lastError']})" if target.get("lastError") else "")
        for target in active
    }


# --- measuring -----------------------------------------------------------------------------


def instant(base: str, expr: str, at: float) -> Outcome:
    """Evaluate ``expr`` at time ``at`` and say whether it returned data."""
    reply = api(base, "/api/v1/query", {"query": expr, "time": f"{at:.3f}"})
    if reply.get("status") != "success":
        return Outcome(False, f"{reply.get('errorType')}: {reply.get('error')}")
    data = reply["data"]
    assert isinstance(data, dict)
    if data["resultType"] in ("scalar", "string"):
        return Outcome(True)
    return Outcome(bool(data["result"]))


def label_values(base: str, query: str, at: float) -> list[str] | None:
    """Answer Grafana's ``label_values([selector,] label)``; None for other functions."""
    match = re.fullmatch(r"label_values\(\s*(?:(.+?)\s*,\s*)?(\w+)\s*\)", query, re.DOTALL)
    if match is None:
        return None
    selector, label = match.groups()
    params: dict[str, str | list[str]] = {"start": f"{at - 3600:.3f}", "end": f"{at:.3f}"}
    if selector:
        params["match[]"] = [selector]
    values = api(base, f"/api/v1/label/{label}/values", params).get("data")
    return [str(value) for value in values] if isinstance(values, list) else []


def exposed_names(url: str) -> set[str]:
    """Sample and family names on a ``/metrics`` page (text format)."""
    names = set()
    for line in fetch(url).decode().splitlines():
        if line.startswith("# TYPE "):
            names.add(line.split()[2])
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{\s]", line, maxsplit=1)[0])
    return names


def describe(values: list[str] | None, own: str | None) -> str:
    """One templating query's answer for the report: skipped, empty, or what it listed."""
    if values is None:
        return "skipped (not label_values)"
    if not values:
        return "no data"
    if own is not None:
        return f"{len(values)} value(s), {'including' if own in values else 'WITHOUT'} {own}"
    return ", ".join(values)


def subsystem(name: str) -> str:
    """A metric's group for the report: ``node_netstat``, ``node_memory``, ``process``..."""
    parts = name.split("_")
    return "_".join(parts[:2]) if parts[0] == "node" else parts[0]


# --- report --------------------------------------------------------------------------------


def report(
    expressions: list[str],
    outcomes: Mapping[str, Mapping[str, Outcome]],
    templates: Sequence[tuple[str, str, Mapping[str, str]]],
    exposed: Mapping[str, set[str]],
) -> None:
    """Print the counts, what only node_exporter answers, errors, and missing metric names."""
    node, agent, extra = outcomes["node"], outcomes["agent"], outcomes["agent_all"]
    ne_ok = {e for e in expressions if node[e].has_data}
    ag_ok = {e for e in expressions if agent[e].has_data}
    all_ok = {e for e in expressions if extra[e].has_data}
    print(f"unique PromQL expressions in the dashboard: {len(expressions)}")
    print(f"  return data for node_exporter 1.5:      {len(ne_ok)}")
    print(f"  return data for the agent:              {len(ag_ok)}")
    print(f"  both:                                   {len(ne_ok & ag_ok)}")
    print(f"  node_exporter only:                     {len(ne_ok - ag_ok)}")
    print(f"  agent only:                             {len(ag_ok - ne_ok)}")
    print(f"  neither:                                {len(set(expressions) - ne_ok - ag_ok)}")
    ratio = len(ag_ok) / len(ne_ok) if ne_ok else float("nan")
    print(f"  ratio agent / node_exporter:            {ratio:.2f}")
    print(
        f"agent with optional collectors ({', '.join(OPTIONAL_COLLECTORS)}) also on: "
        f"{len(all_ok)} return data ({len(all_ok - ag_ok):+d} vs the default agent)"
    )

    print("\ntemplating queries (Grafana functions, via /api/v1/label/<label>/values):")
    for name, query, per_job in templates:
        print(f"  ${name} = {query}")
        for job, answer in per_job.items():
            print(f"      {job}: {answer}")

    ne_only = sorted(ne_ok - ag_ok)
    missing = exposed["node"] - exposed["agent"]
    groups: dict[str, set[str]] = defaultdict(set)
    group_exprs: dict[str, int] = defaultdict(int)
    present_but_empty = []
    for expr in ne_only:
        lacking = {name for name in metric_names(expr) if name not in exposed["agent"]}
        if not lacking:
            present_but_empty.append(expr)
        for group in {subsystem(name) for name in lacking}:
            group_exprs[group] += 1
        for name in lacking:
            groups[subsystem(name)].add(name)
    print("\nnode_exporter-only expressions: metric names the agent does not expose, by group")
    for group in sorted(groups, key=lambda g: (-group_exprs[g], g)):
        names = sorted(groups[group])
        print(f"  {group} ({group_exprs[group]} expressions, {len(names)} names):")
        for name in names:
            print(f"      {name}")
    print("node_exporter-only expressions whose metric names the agent does expose:")
    for expr in present_but_empty:
        print(f"  {expr}")
    if not present_but_empty:
        print("  none")
    neither = set(expressions) - ne_ok - ag_ok
    neither_groups = sorted({subsystem(n) for e in neither for n in metric_names(e)})
    print(f"groups of the {len(neither)} expressions neither answers: {' '.join(neither_groups)}")

    ag_only = sorted(ag_ok - ne_ok)
    if ag_only:
        print("\nagent-only expressions:")
        for expr in ag_only:
            print(f"  {expr}")

    print("\nquery errors:")
    errors = [(job, e, res[e].error) for job, res in outcomes.items() for e in expressions]
    shown = [(job, e, err) for job, e, err in errors if err is not None]
    for job, expr, error in shown:
        print(f"  [{job}] {expr}\n      {error}")
    if not shown:
        print("  none")

    referenced = set().union(*(metric_names(e) for e in expressions))
    absent = sorted(referenced & missing)
    print(
        f"\nmetric names referenced by the dashboard: {len(referenced)}; on node_exporter's "
        f"/metrics: {len(referenced & exposed['node'])}; on the agent's: "
        f"{len(referenced & exposed['agent'])}; node_exporter's but not the agent's: {len(absent)}"
    )
    for group, names in sorted(_grouped(absent).items()):
        print(f"  {group}: {' '.join(names)}")


def _grouped(names: list[str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for name in names:
        groups[subsystem(name)].append(name)
    return groups


# --- main ----------------------------------------------------------------------------------


def measure(seconds: float, tmpdir: Path, dashboard_path: Path) -> None:
    """Run the processes, collect for ``seconds``, query, stop everything, print the report."""
    exporter, prometheus = (
        shutil.which("prometheus-node-exporter"),
        shutil.which("prometheus"),
    )
    if exporter is None or prometheus is None:
        raise SystemExit("needs the Debian packages prometheus and prometheus-node-exporter")
    dashboard = json.loads(dashboard_path.read_text())
    expressions = sorted(set(panel_expressions(dashboard)))

    targets = [Target("node", free_port()), Target("agent", free_port())]
    targets.append(Target("agent_all", free_port()))
    prom_port = free_port()
    base = f"http://127.0.0.1:{prom_port}"
    (tmpdir / "prometheus.yml").write_text(prometheus_config(targets))
    logs = []
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for target in targets:
            log = (tmpdir / f"{target.job}.log").open("wb")
            logs.append(log)
            if target.job == "node":
                argv = [exporter, f"--web.listen-address={target.instance}"]
            else:
                config = tmpdir / f"{target.job}.yml"
                config.write_text(agent_config(target.port, target.job == "agent_all"))
                data = tmpdir / f"{target.job}-data"
                argv = [sys.executable, "-m", "multimonx", "agent", "--config", str(config)]
                argv += ["--data-dir", str(data)]
            procs.append(start(argv, log))
        logs.append((tmpdir / "prometheus.log").open("wb"))
        argv = [prometheus, f"--config.file={tmpdir / 'prometheus.yml'}"]
        argv += [
            f"--storage.tsdb.path={tmpdir / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ]
        procs.append(start(argv, logs[-1]))

        wait_for("Prometheus ready", lambda: bool(fetch(f"{base}/-/ready")), procs, 60)
        want = {target.job: "up" for target in targets}
        try:
            wait_for("all targets up", lambda: target_health(base) == want, procs, 60)
        except SystemExit:
            print(f"targets: {target_health(base)}", file=sys.stderr)
            raise
        print(f"all targets up; collecting for {seconds:.0f} s", file=sys.stderr, flush=True)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ensure_alive(procs)
            time.sleep(min(1.0, max(0.0, end - time.monotonic())))
        at = time.time()

        outcomes: dict[str, dict[str, Outcome]] = {}
        templates_by_job: dict[str, dict[str, str]] = defaultdict(dict)
        queries = template_queries(dashboard)
        for target in targets:
            variables = {**GRAFANA_VARIABLES, "job": target.job, "node": target.instance}
            outcomes[target.job] = {
                expr: instant(base, substitute(expr, variables), at) for expr in expressions
            }
            chained = {"job": target.job}  # each variable's query may use the ones before it
            for name, query in queries:
                values = label_values(base, substitute(query, chained), at)
                own = {"job": target.job, "node": target.instance}.get(name)
                templates_by_job[name][target.job] = describe(values, own)
                if values:
                    chained[name] = own if own in values else values[0]
        exposed = {t.job: exposed_names(f"http://{t.instance}/metrics") for t in targets}
    finally:
        stop(procs)
        for log in logs:
            log.close()
    templates = [(name, query, templates_by_job[name]) for name, query in queries]
    report(expressions, outcomes, templates, exposed)


def main() -> None:
    """Parse the arguments and run the measurement in a temporary directory."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=40.0, help="collection window")
    parser.add_argument("--dashboard", type=Path, default=DASHBOARD, help="dashboard JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dashboard-coverage-") as tmp:
        measure(args.seconds, Path(tmp), args.dashboard)


if __name__ == "__main__":
    main()
