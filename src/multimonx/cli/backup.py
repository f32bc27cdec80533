"""``multimonx backup`` and ``multimonx restore``: consistent copies of a server's data directory.

Every database is copied with SQLite's online backup API in one step, which reads a snapshot
inside a single read transaction: in WAL mode that never blocks the running server's writers,
and the copy is consistent even while it ingests. The copies are taken in the order that keeps
the set consistent too: the append logs first, then the chunk store, then metadata. A batch
flushed from the log into chunks between two copies is then in the chunk copy; a record still
in the log copy that was also flushed is replayed as exact duplicates, which are harmless.
Nothing acknowledged before the backup started is missing from it.

A backup directory holds the database files and ``manifest.json`` (version, time, per-file size
and SHA-256). ``restore`` checks the manifest and each file's integrity before copying them into
a data directory, which must not hold data already unless ``--force`` is given (the server must
be stopped for a restore).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from multimonx import __version__
from multimonx.cli.errors import UsageError

# Copy order matters (see the module docstring): logs, then chunks, then metadata.
DATABASES = ("tsdb/log.db", "journal.db", "tsdb/chunks.db", "metadata.db")
MANIFEST = "manifest.json"


@dataclass(frozen=True, slots=True)
class CopiedFile:
    """One database in a backup."""

    name: str
    size: int
    sha256: str


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _copy_database(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)  # all pages in one step: one read snapshot
            dst.execute("PRAGMA journal_mode=DELETE")  # a self-contained file, no -wal beside it
        finally:
            dst.close()
    finally:
        src.close()


def backup(data_dir: Path, target: Path) -> list[CopiedFile]:
    """Copy every database of ``data_dir`` into ``target`` (which must be empty or absent)."""
    if not data_dir.is_dir():
        raise UsageError(f"no data directory at {data_dir}")
    if target.exists() and any(target.iterdir()):
        raise UsageError(f"backup target {target} is not empty")
    present = [name for name in DATABASES if (data_dir / name).is_file()]
    if not present:
        raise UsageError(f"{data_dir} holds no MultiMonX databases")
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for name in present:
        try:
            _copy_database(data_dir / name, target / name)
        except sqlite3.Error as err:
            raise UsageError(f"cannot back up {data_dir / name}: {err}") from None
        path = target / name
        copied.append(CopiedFile(name, path.stat().st_size, _sha256(path)))
    manifest = {
        "format": 1,
        "version": __version__,
        "created_unix": time.time(),
        "source": str(data_dir),
        "files": [{"name": c.name, "size": c.size, "sha256": c.sha256} for c in copied],
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    return copied


def _check(backup_dir: Path) -> list[CopiedFile]:
    try:
        manifest = json.loads((backup_dir / MANIFEST).read_text())
        files = [CopiedFile(f["name"], int(f["size"]), f["sha256"]) for f in manifest["files"]]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise UsageError(f"{backup_dir} is not a MultiMonX backup: {err}") from None
    for entry in files:
        if entry.name not in DATABASES:
            raise UsageError(f"backup manifest names an unknown file {entry.name!r}")
        path = backup_dir / entry.name
        if not path.is_file() or _sha256(path) != entry.sha256:
            raise UsageError(f"backup file {path} is missing or does not match its checksum")
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            verdict = db.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            db.close()
        if verdict != "ok":
            raise UsageError(f"backup file {path} fails SQLite's integrity check: {verdict}")
    return files


def restore(backup_dir: Path, data_dir: Path, *, force: bool = False) -> list[CopiedFile]:
    """Check a backup and copy it into ``data_dir`` (the server must be stopped)."""
    files = _check(backup_dir)
    existing = [name for name in DATABASES if (data_dir / name).exists()]
    if existing and not force:
        raise UsageError(
            f"{data_dir} already holds data ({', '.join(existing)}); stop the server and "
            "use --force to replace it"
        )
    for name in DATABASES:  # no stale log or WAL file may be replayed over the restored data
        for suffix in ("", "-wal", "-shm"):
            (data_dir / f"{name}{suffix}").unlink(missing_ok=True)
    for entry in files:
        (data_dir / entry.name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(backup_dir / entry.name, data_dir / entry.name)
    return files
