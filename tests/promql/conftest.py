"""Reporting for the PromQL script tests: how many evals real Prometheus checked."""

from __future__ import annotations

import pytest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """After the run, sum the evals that ran against Prometheus and list the 3.x-only ones
    it skipped (from the properties test_script_against_prometheus records)."""
    passed = 0
    skipped: list[str] = []
    seen = False
    for outcome in ("passed", "failed"):
        for report in terminalreporter.stats.get(outcome, []):
            properties = dict(getattr(report, "user_properties", []))
            if getattr(report, "when", "") != "call" or "evals_passed" not in properties:
                continue
            seen = True
            passed += int(properties["evals_passed"])
            skipped.extend(properties.get("evals_skipped_3x", []))
    if not seen:
        return
    terminalreporter.write_sep("-", "PromQL scripts against Prometheus 2.42")
    terminalreporter.write_line(f"{passed} evals passed; {len(skipped)} skipped as 3.x-only:")
    for where in skipped:
        terminalreporter.write_line(f"  {where}")
