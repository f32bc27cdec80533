"""The ``multimonx`` command line: ``agent``, ``server``, ``up``, ``keys``, ``backup``,
``restore``, ``check rules`` and ``test rules``."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from multimonx import __version__
from multimonx.cli.errors import UsageError
from multimonx.config import (
    DEFAULT_AGENT_PORT,
    DEFAULT_SERVER_PORT,
    AgentConfig,
    ConfigError,
    ServerConfig,
    load_file,
    load_mapping,
)

log = logging.getLogger("multimonx")


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="log verbosity (default: info)",
    )


def _data_dir_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="directory for stored data, keys and the agent spool "
        "(default: $MULTIMONX_DATA_DIR or ~/.local/share/multimonx)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="multimonx",
        description="Self-hosted fleet monitoring that speaks the Prometheus ecosystem.",
    )
    parser.add_argument("--version", action="version", version=f"multimonx {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = sub.add_parser(
        "up",
        help="run the server and a local agent together (embedded defaults)",
        description="Run the central server and an agent for this machine in one process "
        "tree, with embedded defaults. Data survives restarts in --data-dir. Ctrl-C stops.",
    )
    _data_dir_arg(up)
    up.add_argument(
        "--listen-address",
        default=f"127.0.0.1:{DEFAULT_SERVER_PORT}",
        help=f"server address (default: 127.0.0.1:{DEFAULT_SERVER_PORT})",
    )
    up.add_argument(
        "--agent-listen-address",
        default=f"127.0.0.1:{DEFAULT_AGENT_PORT}",
        help=f"address of the local agent's /metrics (default: 127.0.0.1:{DEFAULT_AGENT_PORT})",
    )
    up.add_argument("--interval", help="collection interval of the local agent (default: 5s)")
    _add_common(up)

    server = sub.add_parser(
        "server",
        help="run the central server",
        description="Run the central server: ingest pushes from agents, store, serve the API.",
    )
    server.add_argument("--config", type=Path, help="server YAML config file")
    _data_dir_arg(server)
    server.add_argument("--listen-address", help="override listen_address (host:port)")
    _add_common(server)

    agent = sub.add_parser(
        "agent",
        help="run the agent on a monitored machine",
        description="Collect this machine's metrics, serve them on /metrics and push them "
        "to the server (when collector.server_url is set), buffering on disk during outages.",
    )
    agent.add_argument("--config", type=Path, help="agent YAML config file")
    _data_dir_arg(agent)
    agent.add_argument("--server-url", help="override collector.server_url")
    agent.add_argument("--listen-address", help="override web.listen_address (host:port)")
    agent.add_argument(
        "--check-config", action="store_true", help="validate the config file and exit"
    )
    _add_common(agent)

    backup = sub.add_parser(
        "backup",
        help="copy the server's data consistently, even while it runs",
        description="Copy every database of the data directory into DIR with SQLite's online "
        "backup (consistent while the server keeps ingesting), with a manifest of checksums.",
    )
    backup.add_argument("target", type=Path, metavar="DIR", help="empty or new directory")
    _data_dir_arg(backup)
    _add_common(backup)

    restore = sub.add_parser(
        "restore",
        help="put a backup back into a data directory (server stopped)",
        description="Check a backup (checksums, SQLite integrity) and copy it into the data "
        "directory. Stop the server first.",
    )
    restore.add_argument("source", type=Path, metavar="DIR", help="a directory made by backup")
    _data_dir_arg(restore)
    restore.add_argument(
        "--force", action="store_true", help="replace data already in the data directory"
    )
    _add_common(restore)

    keys = sub.add_parser(
        "keys",
        help="create, list and revoke agents' API keys",
        description="Manage the API keys agents push with. Keys are stored hashed; a new "
        "key's token is printed once.",
    )
    keys_sub = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    create = keys_sub.add_parser("create", help="create a key and print its token once")
    create.add_argument("name", help="a name for the key, such as the host or fleet it serves")
    _data_dir_arg(create)
    listing = keys_sub.add_parser("list", help="list keys (never their tokens)")
    _data_dir_arg(listing)
    revoke = keys_sub.add_parser("revoke", help="revoke a key; pushes with it are refused")
    revoke.add_argument("key_id", help="the key's id, as `keys list` shows it")
    _data_dir_arg(revoke)

    _promtool_style(
        sub,
        "check",
        "check rule files without starting anything",
        "Check Prometheus rule files: YAML structure, PromQL expressions, names and "
        "templates. Prints each file's rule count or its errors; exits 1 if any failed.",
        "a rule file",
    )
    _promtool_style(
        sub,
        "test",
        "run rule unit tests in promtool's format",
        "Run rule unit test files in promtool's format (rule_files, input_series, "
        "alert_rule_test, promql_expr_test). Prints each file's result; exits 1 if any failed.",
        "a test file",
    )
    return parser


def _promtool_style(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    verb: str,
    summary: str,
    description: str,
    file_help: str,
) -> None:
    """``multimonx <verb> rules FILE...``, as ``promtool <verb> rules`` (the one noun so far)."""
    command = sub.add_parser(verb, help=summary, description=f"{summary}, as promtool does.")
    nouns = command.add_subparsers(dest=f"{verb}_command", required=True, metavar="WHAT")
    rules = nouns.add_parser("rules", help=summary, description=description)
    rules.add_argument("files", nargs="+", type=Path, metavar="FILE", help=file_help)


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _data_dir(args: argparse.Namespace) -> Path:
    from multimonx.cli.paths import default_data_dir

    path: Path = args.data_dir or default_data_dir()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"cannot create data directory {path}: {err.strerror}") from None
    return path


def _agent_config(args: argparse.Namespace) -> AgentConfig:
    config = load_file(args.config, AgentConfig) if args.config else AgentConfig()
    collector = config.collector
    web = config.web
    if args.server_url:
        collector = load_mapping(
            {**_as_dict(collector), "server_url": args.server_url},
            type(collector),
            "--server-url",
        )
    if args.listen_address:
        web = dataclasses.replace(web, listen_address=args.listen_address)
    return dataclasses.replace(config, collector=collector, web=web)


def _as_dict(obj: object) -> dict[str, object]:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}  # type: ignore[arg-type]


def _wait_for_signal() -> None:
    """Block until SIGINT or SIGTERM."""
    stop = threading.Event()

    def handle(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)
    while not stop.wait(3600):
        pass


def _without_tls_unless_needed(config: AgentConfig) -> None:
    """Keep OpenSSL out of an agent that never speaks https.

    ``http.client`` (under both ``/metrics`` and the pusher) imports ``ssl`` eagerly, which
    maps OpenSSL and costs about 4 MB of resident memory, a sixth of the agent's budget. It
    supports running without ``ssl`` (it then just lacks ``HTTPSConnection``), so when no
    configured URL is https we mark ``ssl`` absent before the HTTP modules load. Must run
    before anything imports ``http.client``; ``multimonx up`` does not do this (uvicorn needs
    ``ssl``).
    """
    if "http.client" in sys.modules or "ssl" in sys.modules:
        return
    if not (config.collector.server_url or "").lower().startswith("https://"):
        sys.modules["ssl"] = None  # type: ignore[assignment]


def _cmd_agent(args: argparse.Namespace) -> int:
    config = _agent_config(args)
    _without_tls_unless_needed(config)
    from multimonx.cli.agent import AgentRuntime

    if args.check_config:
        print(f"{args.config or '<defaults>'}: OK")
        return 0
    runtime = AgentRuntime(config, _data_dir(args))
    runtime.start()
    if runtime.metrics_url:
        print(f"agent metrics: {runtime.metrics_url}", flush=True)
    try:
        _wait_for_signal()
    finally:
        runtime.stop()
    return 0


def _cmd_server(args: argparse.Namespace) -> int:
    from multimonx.cli.server import run_server

    config = load_file(args.config, ServerConfig) if args.config else ServerConfig()
    if args.listen_address:
        config = dataclasses.replace(config, listen_address=args.listen_address)
    data_dir = args.data_dir or (Path(config.data_dir) if args.config else None)
    if data_dir is None:
        data_dir = _data_dir(args)
    data_dir.mkdir(parents=True, exist_ok=True)
    run_server(config, data_dir)
    return 0


def _cmd_up(args: argparse.Namespace) -> int:
    from multimonx.cli.up import run_up

    run_up(_data_dir(args), args.listen_address, args.agent_listen_address, args.interval)
    return 0


def _cmd_backup(args: argparse.Namespace) -> int:
    from multimonx.cli.backup import backup
    from multimonx.cli.paths import default_data_dir

    copied = backup(args.data_dir or default_data_dir(), args.target)
    total = sum(c.size for c in copied)
    print(f"backed up {len(copied)} databases ({total} bytes) to {args.target}")
    return 0


def _cmd_restore(args: argparse.Namespace) -> int:
    from multimonx.cli.backup import restore

    restored = restore(args.source, _data_dir(args), force=args.force)
    print(f"restored {len(restored)} databases from {args.source}")
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from multimonx.cli.rules import check_rule_files

    return check_rule_files(args.files, sys.stdout)


def _cmd_test(args: argparse.Namespace) -> int:
    from multimonx.cli.rules import test_rule_files

    return test_rule_files(args.files, sys.stdout)


def _cmd_keys(args: argparse.Namespace) -> int:
    from multimonx.cli.keys import run_keys

    return run_keys(args, _data_dir(args))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``multimonx`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    _setup_logging(getattr(args, "log_level", "warning"))
    handlers = {
        "agent": _cmd_agent,
        "server": _cmd_server,
        "up": _cmd_up,
        "keys": _cmd_keys,
        "backup": _cmd_backup,
        "restore": _cmd_restore,
        "check": _cmd_check,
        "test": _cmd_test,
    }
    try:
        return handlers[args.command](args)
    except (ConfigError, UsageError) as err:
        print(f"multimonx: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
