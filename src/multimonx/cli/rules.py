"""Rules in the composition root: ``multimonx check rules`` and ``multimonx test rules``
(as ``promtool check rules`` and ``promtool test rules``, same output shape and exit
status), the rule files of the server's config loaded and wired to its engine and
storage, and the alert rules of the REST API evaluated beside them."""

from __future__ import annotations

import glob
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from multimonx.cli.errors import UsageError
from multimonx.config import RulesSection
from multimonx.model import METRIC_NAME_LABEL, Labels, Matcher, MatchType
from multimonx.promql.engine import Engine
from multimonx.rules import RuleFileError, RuleGroup, load_rule_file
from multimonx.rules.alerting import (
    ALERT_NAME_LABEL,
    ALERTS_FOR_STATE_METRIC,
    OutputSample,
    RuleEvalError,
)
from multimonx.rules.defaults import default_pack, without
from multimonx.rules.group import NotifyFunc
from multimonx.rules.manager import RuleManager, RuleSinks
from multimonx.rules.query import engine_query
from multimonx.rules.ruletest import RuleTestError, run_test_file
from multimonx.storage import Storage, StorageError
from multimonx.storage.alerthistory import AlertHistory


def check_rule_files(paths: Sequence[Path], out: TextIO) -> int:
    """Check each file, print ``SUCCESS: <n> rules found`` or ``FAILED:`` and its errors;
    the exit status (0 all good, 1 any file failed)."""

    def check(path: Path) -> tuple[str, list[str]]:
        try:
            groups = load_rule_file(path)
        except RuleFileError as err:
            return "", err.errors
        return f"SUCCESS: {sum(len(g.rules) for g in groups)} rules found", []

    return _each_file("Checking ", paths, check, out, indent="")


def test_rule_files(paths: Sequence[Path], out: TextIO) -> int:
    """Run each rule unit test file as ``promtool test rules`` does, print ``SUCCESS`` or
    ``FAILED:`` and the failures; the exit status (0 all passed, 1 otherwise)."""

    def test(path: Path) -> tuple[str, list[str]]:
        try:
            return "SUCCESS", run_test_file(path)
        except RuleTestError as err:
            return "", [str(err)]

    return _each_file("Unit Testing:  ", paths, test, out, indent="    ")


def _each_file(
    header: str,
    paths: Sequence[Path],
    run: Callable[[Path], tuple[str, list[str]]],
    out: TextIO,
    *,
    indent: str,
) -> int:
    """promtool's report: a header per file, then its success line or ``FAILED:`` and the
    problems; 1 if any file had problems."""
    status = 0
    for path in paths:
        print(f"{header}{path}", file=out)
        success, problems = run(path)
        if problems:
            status = 1
            print("  FAILED:", file=out)
            for problem in problems:
                print(textwrap.indent(problem, indent), file=out)
        else:
            print(f"  {success}", file=out)
        print(file=out)
    return status


def load_rule_groups(section: RulesSection) -> list[RuleGroup]:
    """The default pack's groups (unless turned off), then those of every file
    ``section.files`` names (globs expanded, in sorted order), without the rules
    ``section.disabled`` names; raises UsageError listing every problem of every file."""
    errors: list[str] = []
    groups: list[RuleGroup] = default_pack() if section.default_pack else []
    for pattern in section.files:
        matched = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        for name in matched:
            try:
                groups += load_rule_file(Path(name))
            except RuleFileError as err:
                errors += err.errors
    if errors:
        raise UsageError("rule files are not valid:\n" + "\n".join(errors))
    try:
        return without(groups, section.disabled)
    except ValueError as err:
        raise UsageError(f"rules.disabled: {err}") from None


def rule_manager(
    section: RulesSection,
    groups: Sequence[RuleGroup],
    engine: Engine,
    storage: Storage,
    *,
    history: AlertHistory,
    notify: NotifyFunc,
    external_url: str = "",
) -> RuleManager:
    """A RuleManager evaluating ``groups`` on ``engine``, storing into ``storage``, handing
    alerts to ``notify``, recording transitions in ``history``, and restoring the alerts'
    ``for`` state from ``storage`` after a restart."""

    def append(samples: Sequence[OutputSample]) -> None:
        app = storage.appender()
        for sample in samples:
            app.append(sample.labels, sample.t_ms, sample.value)
        try:
            app.commit()
        except StorageError as err:
            raise RuleEvalError(f"storing the rule's samples failed: {err}") from None

    def for_state(name: str, mint_ms: int, maxt_ms: int) -> dict[Labels, tuple[int, float]]:
        matchers = [
            Matcher.of(METRIC_NAME_LABEL, MatchType.EQUAL, ALERTS_FOR_STATE_METRIC),
            Matcher.of(ALERT_NAME_LABEL, MatchType.EQUAL, name),
        ]
        with storage.querier(mint_ms, maxt_ms) as querier:
            return {
                series.labels.without(METRIC_NAME_LABEL): (
                    int(series.timestamps[-1]),
                    float(series.values[-1]),
                )
                for series in querier.select(matchers)
            }

    sinks = RuleSinks(
        append,
        notify=notify,
        history=history.add,
        for_state=for_state,
        outage_tolerance_ms=round(section.for_outage_tolerance * 1000),
        grace_ms=round(section.for_grace_period * 1000),
        resend_delay_ms=round(section.resend_delay * 1000),
    )
    manager = RuleManager(
        engine_query(engine),
        sinks,
        default_interval_ms=round(section.evaluation_interval * 1000),
        external_url=external_url or section.external_url,
    )
    manager.update(groups)
    return manager
