"""What every collector is: a named, periodic producer of metric families.

A collector reads the machine only through the ``Source`` it was built with (see
``multimonx.agent.source``), so tests can feed it recorded fixtures. It returns complete
families for one collection; the gatherer adds the agent's own duration and success metrics,
target labels and timestamps.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from multimonx.agent.source import Source
from multimonx.model import MetricFamily


class CollectorError(Exception):
    """A collection that failed this time; the gatherer records success=0 and carries on."""


class CollectorUnavailable(Exception):  # noqa: N818 (reads as a state, like StorageUnavailable)
    """The hardware, kernel interface or tool a collector needs is not on this machine.

    Raised by a collector's constructor (or first ``collect``); the gatherer logs the message
    once, at info level, and does not run that collector again.
    """


class Collector(Protocol):
    """One subsystem's collector (cpu, memory, filesystem, ...).

    ``collect`` is called from the gatherer's thread only, never concurrently with itself; it
    must return within a fraction of ``interval`` and must not block indefinitely (collectors
    that touch possibly-hung resources, such as network mounts, bound their own waits).
    """

    @property
    def name(self) -> str:
        """The collector's name, used in the ``collector`` label of the agent's own metrics."""
        ...

    @property
    def interval(self) -> float:
        """Seconds between collections."""
        ...

    def collect(self) -> Sequence[MetricFamily]:
        """Read the source once and return this collection's families."""
        ...


class IntervalSection(Protocol):
    """Any collector config section: it may override the collector's interval."""

    @property
    def interval(self) -> float | None:
        """Seconds between collections, or None for the agent's base interval."""
        ...


class SourceCollector:
    """The plumbing every collector shares: the source it reads and its interval.

    Subclasses set ``name`` and implement ``collect``; those with options of their own extend
    ``__init__`` and call this one first.
    """

    name = ""

    def __init__(self, section: IntervalSection, source: Source, default_interval: float) -> None:
        self._source = source
        self._interval = section.interval if section.interval is not None else default_interval

    @property
    def interval(self) -> float:
        """Seconds between collections."""
        return self._interval
