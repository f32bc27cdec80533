"""``multimonx check rules``: promtool's output shape and exit status."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from multimonx.cli.main import main


def _run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["check", "rules", *args])
    return status, out.getvalue()


def test_each_file_is_reported_and_any_failure_fails_the_command(tmp_path: Path) -> None:
    good = tmp_path / "good.yml"
    good.write_text(
        "groups:\n- name: a\n  rules:\n  - record: a:up\n    expr: sum(up)\n"
        "  - alert: Down\n    expr: up == 0\n"
    )
    bad = tmp_path / "bad.yml"
    bad.write_text("groups:\n- name: a\n  rules:\n  - alert: A\n    expr: up +\n")
    assert _run(str(good)) == (0, f"Checking {good}\n  SUCCESS: 2 rules found\n\n")
    status, out = _run(str(good), str(bad))
    assert status == 1
    assert out == (
        f"Checking {good}\n  SUCCESS: 2 rules found\n\n"
        f"Checking {bad}\n  FAILED:\n"
        f'{bad}: 5:11: group "a", rule 1, "A": could not parse expression: '
        "1:5: parse error: unexpected end of input\n\n"
    )


def test_a_missing_file_fails_with_its_reason(tmp_path: Path) -> None:
    status, out = _run(str(tmp_path / "missing.yml"))
    assert status == 1
    assert "No such file or directory" in out
