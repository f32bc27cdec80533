"""The reloader: applies only what loads, reloads when a watched file changes, appears or
goes away, and never otherwise."""

from __future__ import annotations

from pathlib import Path

from multimonx.cli.errors import UsageError
from multimonx.cli.reload import Reloader


class _Target:
    def __init__(self, tmp_path: Path) -> None:
        self.dir = tmp_path
        self.applied: list[str] = []
        self.loads = 0

    def load(self) -> str:
        self.loads += 1
        texts = [p.read_text() for p in sorted(self.dir.glob("*.yml"))]
        if any("bad" in t for t in texts):
            raise UsageError("rule files are not valid:\na.yml: bad")
        return "+".join(texts)

    def reloader(self) -> Reloader[str]:
        return Reloader(self.load, self.applied.append, lambda: [str(self.dir / "*.yml")])


def test_a_reload_applies_what_loaded_and_a_failed_one_applies_nothing(tmp_path: Path) -> None:
    target = _Target(tmp_path)
    (tmp_path / "a.yml").write_text("one")
    reloader = target.reloader()
    assert reloader.reload() == ""
    (tmp_path / "a.yml").write_text("bad")
    assert reloader.reload() == "rule files are not valid:\na.yml: bad"
    assert target.applied == ["one"]
    assert (reloader.reloads, reloader.failures) == (1, 1)


def test_check_reloads_only_when_a_watched_file_changed(tmp_path: Path) -> None:
    target = _Target(tmp_path)
    (tmp_path / "a.yml").write_text("one")
    reloader = target.reloader()
    reloader.check()
    assert target.loads == 0  # nothing changed since it was built
    (tmp_path / "a.yml").write_text("two")
    reloader.check()
    reloader.check()
    assert target.applied == ["two"]
    (tmp_path / "b.yml").write_text("three")  # a new file matching the glob
    reloader.check()
    (tmp_path / "a.yml").unlink()  # and a file going away
    reloader.check()
    assert target.applied == ["two", "two+three", "three"]
    (tmp_path / "b.yml").write_text("bad")
    reloader.check()
    reloader.check()  # a bad file is not retried until it changes again
    assert target.loads == 4
