"""Where MultiMonX keeps its data when no directory is configured."""

from __future__ import annotations

import os
from pathlib import Path


def default_data_dir() -> Path:
    """The data directory: ``$MULTIMONX_DATA_DIR``, else ``$XDG_DATA_HOME/multimonx``, else
    ``~/.local/share/multimonx``.

    Restarting with the same directory keeps everything: stored samples, API keys and the
    agent's spool.
    """
    explicit = os.environ.get("MULTIMONX_DATA_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "multimonx"
