"""``multimonx up``: the server and an agent for this machine in one process, embedded defaults.

The local agent pushes to the server with its own API key, created on first start and kept
(mode 0600) in the data directory, so restarts reuse it.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from multimonx.cli.agent import AgentRuntime
from multimonx.cli.server import ServerRuntime, run_loop
from multimonx.config import AgentConfig, ServerConfig, SpoolSection, parse_duration
from multimonx.config.agent import CollectorSection, WebSection
from multimonx.storage.keys import SqliteKeyStore

LOCAL_KEY_FILE = "local-agent.key"


def local_agent_token(keys: SqliteKeyStore, data_dir: Path) -> str:
    """The local agent's API token: the stored one if still valid, else a new one."""
    path = data_dir / LOCAL_KEY_FILE
    if path.exists():
        token = path.read_text().strip()
        if keys.verify(token) is not None:
            return token
    _, token = keys.create("local-agent")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token + "\n")
    return token


def run_up(
    data_dir: Path, listen_address: str, agent_listen_address: str, interval: str | None
) -> None:
    """Run server + local agent until Ctrl-C.

    The agent starts once the server listens. On Ctrl-C uvicorn stops first (finishing the
    pushes it has accepted), then the agent: whatever it had not pushed yet stays in its spool
    and is pushed on the next start, so a restart loses nothing.
    """
    server = ServerRuntime(ServerConfig(listen_address=listen_address), data_dir)
    token = local_agent_token(server.keys, data_dir)
    agent_holder: list[AgentRuntime] = []

    def start_agent(url: str) -> None:
        collector = CollectorSection(server_url=url, api_key=token)
        if interval:
            collector = dataclasses.replace(collector, interval=parse_duration(interval))
        config = AgentConfig(
            collector=collector,
            spool=SpoolSection(directory=str(data_dir)),
            web=WebSection(listen_address=agent_listen_address),
        )
        agent = AgentRuntime(config, data_dir)
        agent.start()
        agent_holder.append(agent)
        print(
            f"MultiMonX is up.\n  server:        {url}\n"
            f"  servers list:  {url}/api/v1/servers\n"
            f"  agent metrics: {agent.metrics_url}\n"
            f"  data:          {data_dir}\nPress Ctrl-C to stop.",
            flush=True,
        )

    try:
        run_loop(server.serve(start_agent))
    finally:
        for agent in agent_holder:
            agent.stop()
        server.close()
