"""``bench/rule_eval.py`` in its smallest configuration: 50 hosts of one CPU, two rounds a
second apart on a real ``multimonx server``, a real Prometheus 2.42 and in-process. Every
rule of the default pack must alert on exactly the one host made hot for it, on every side,
so that the benchmark times rules that return something."""

from __future__ import annotations

import time
from typing import Any

import pytest

from multimonx.rules.defaults import default_pack
from multimonx.rules.rulefile import rule_name
from tests.integration.conftest import bench_module

pytestmark = pytest.mark.integration

BENCH = bench_module("rule_eval")
RUNS = 2


@pytest.fixture(scope="module")
def sides(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    now = int(time.time() * 1000)
    spec = BENCH.fleet_spec(50, 1, now)
    tmp = tmp_path_factory.mktemp("rulebench")
    _, loaded, rounds = BENCH.run_all(spec, tmp, RUNS, 1.0, now - now % 15_000)
    assert loaded["series"] == 50 * (8 + 2 + 8 + 12 + 1)
    return dict(rounds)


@pytest.mark.parametrize("side", [BENCH.SERVER, BENCH.PROMETHEUS, BENCH.IN_PROCESS])
def test_every_default_rule_alerts_on_its_one_hot_host(sides: dict[str, Any], side: str) -> None:
    rounds = sides[side]
    assert len(rounds.seconds) == RUNS
    assert all(seconds > 0 for seconds in rounds.seconds)
    assert rounds.alerts == dict.fromkeys(BENCH.EXPECTED, 1)


def test_each_rule_of_the_default_pack_has_its_hot_hosts() -> None:
    names = {rule_name(rule) for group in default_pack() for rule in group.rules}
    assert set(BENCH.EXPECTED) == names
    hot = sorted(r for r in map(BENCH.role, range(BENCH.ROLES)) if r is not None)
    assert hot == list(BENCH.Role) == sorted(set(BENCH.EXPECTED.values()))
