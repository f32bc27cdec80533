"""Record this machine's ``Source`` output into a JSON fixture for the golden tests.

Run from the repository root::

    .venv/bin/python -m tests.agent.record_fixture tests/agent/fixtures/machine.json

then regenerate the golden files (``MULTIMONX_UPDATE_GOLDEN=1 .venv/bin/pytest
tests/agent/collectors/test_golden.py``) and review the diff. The process list is cut to the
ten largest processes to keep the fixture small; record only on test machines (the fixture
holds host name, kernel, mount and interface names).
"""

from __future__ import annotations

import argparse
import json
import sys

from multimonx.agent.recorded import record_source
from multimonx.agent.source import SystemSource

KEEP_PROCESSES = 10


def main(argv: list[str] | None = None) -> int:
    """Write the fixture to the given path (``-`` for standard output)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", help="fixture path, or - for stdout")
    args = parser.parse_args(argv)
    data = record_source(SystemSource())
    data["processes"] = sorted(data["processes"], key=lambda p: -p["rss_bytes"])[:KEEP_PROCESSES]
    text = json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
