"""The allocator setting of the server: large arrays come from malloc's heap, which is reused,
rather than from an ``mmap`` per array (checked in subprocesses, whose allocator it changes,
through glibc's own accounting: ``mallinfo2().hblkhd`` counts the bytes held in mmaps)."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

_PROGRAM = """
import ctypes, sys
import numpy as np
from multimonx.cli.gctune import tune_malloc

class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd",
        "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

mallinfo2 = ctypes.CDLL(None).mallinfo2
mallinfo2.restype = Info
if sys.argv[1] == "tuned":
    assert tune_malloc()
array = np.ones(8_000_000)  # 64 MB
print(mallinfo2().hblkhd)
"""


def _mapped_bytes(mode: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", _PROGRAM, mode], capture_output=True, text=True, check=True
    )
    return int(out.stdout.strip())


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_a_large_array_comes_from_the_heap_once_tuned() -> None:
    assert _mapped_bytes("default") >= 64_000_000
    assert _mapped_bytes("tuned") < 64_000_000
