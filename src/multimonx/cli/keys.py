"""``multimonx keys``: create, list and revoke agents' API keys in the data directory."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from multimonx.cli.errors import UsageError
from multimonx.storage.keys import KeyStoreError, SqliteKeyStore

METADATA_FILE = "metadata.db"


def open_keys(data_dir: Path) -> SqliteKeyStore:
    """The key store of a data directory (the server reads the same file)."""
    return SqliteKeyStore(data_dir / METADATA_FILE)


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts)) if ts is not None else "-"


def run_keys(args: argparse.Namespace, data_dir: Path) -> int:
    """Carry out one ``keys`` action; returns the exit status."""
    store = open_keys(data_dir)
    try:
        if args.keys_command == "create":
            key_id, token = store.create(args.name)
            print(f"created key {key_id} ({args.name}). Its token, shown only this once:")
            print(token)
            print("Give it to the agent as collector.api_key (for example through ${API_KEY}).")
        elif args.keys_command == "list":
            print(f"{'ID':<14}{'NAME':<24}{'CREATED':<22}{'LAST USED':<22}REVOKED")
            for key in store.list():
                print(
                    f"{key.key_id:<14}{key.name:<24}{_when(key.created):<22}"
                    f"{_when(key.last_used):<22}{_when(key.revoked)}"
                )
        else:
            try:
                key = store.revoke(args.key_id)
            except KeyStoreError as err:
                raise UsageError(str(err)) from None
            print(f"revoked key {key.key_id} ({key.name}); pushes with it are now refused")
    finally:
        store.close()
    return 0
