"""The agent: collects this machine's metrics, serves them on ``/metrics`` and pushes them.

It imports only ``multimonx.model``, ``multimonx.config``, psutil, PyYAML and the standard
library, so that its resident memory stays small (no numpy, no web framework, no server code).
Submodules are imported where they are used, so that importing one part does not load all.
"""

__all__: list[str] = []
