"""Reading the kernel clock discipline with ``adjtimex(2)``, as node_exporter's timex
collector does.

Python's standard library has no binding for the system call, so ``load`` builds one with
ctypes, imported on first use: it costs about 0.34 MiB of resident memory that an agent
without the timex collector never pays. The call is made read-only (``modes`` 0), which needs
no privilege.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable

FIELDS = (
    "offset",
    "freq",
    "maxerror",
    "esterror",
    "status",
    "constant",
    "tick",
    "ppsfreq",
    "jitter",
    "shift",
    "stabil",
    "jitcnt",
    "calcnt",
    "errcnt",
    "stbcnt",
    "tai",
)
"""The ``struct timex`` members the timex collector reads."""


def load() -> Callable[[], tuple[int, dict[str, int]]]:
    """A reader of ``adjtimex(2)``: its return value and the ``struct timex`` fields by name.

    ctypes is imported here, not at module level: it costs ~0.34 MiB of resident memory that
    an agent without the timex collector never pays. The structure is Linux's ``struct
    timex`` (C ``long`` members, 11 trailing padding ints), the same on every architecture's
    native ABI.
    """
    import ctypes

    c_long, c_int = ctypes.c_long, ctypes.c_int

    class TimexStruct(ctypes.Structure):
        _fields_ = [
            ("modes", ctypes.c_uint),
            ("offset", c_long),
            ("freq", c_long),
            ("maxerror", c_long),
            ("esterror", c_long),
            ("status", c_int),
            ("constant", c_long),
            ("precision", c_long),
            ("tolerance", c_long),
            ("time_sec", c_long),
            ("time_usec", c_long),
            ("tick", c_long),
            ("ppsfreq", c_long),
            ("jitter", c_long),
            ("shift", c_int),
            ("stabil", c_long),
            ("jitcnt", c_long),
            ("calcnt", c_long),
            ("errcnt", c_long),
            ("stbcnt", c_long),
            ("tai", c_int),
            ("padding", c_int * 11),
        ]

    names = FIELDS
    try:
        function = ctypes.CDLL(None, use_errno=True).adjtimex
    except (AttributeError, OSError):

        def missing() -> tuple[int, dict[str, int]]:
            raise OSError(errno.ENOSYS, "the C library has no adjtimex")

        return missing
    function.argtypes = [ctypes.POINTER(TimexStruct)]
    function.restype = c_int

    def read() -> tuple[int, dict[str, int]]:
        value = TimexStruct()  # modes 0: read only
        state = function(ctypes.byref(value))
        if state < 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))
        return state, {name: int(getattr(value, name)) for name in names}

    return read
