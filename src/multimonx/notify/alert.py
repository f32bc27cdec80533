"""The alert as the rules hand it to the notifier, and as the notifier routes, groups,
mutes and delivers it (Prometheus's ``notifier.Alert``, Alertmanager's ``types.Alert``).

Times are seconds since the epoch (floats). A firing alert's ``ends_at`` is a deadline in
the future: if the rules stop re-sending it (rule deleted, server down) it resolves by
itself then, as Prometheus's ``ValidUntil`` does; a resolved alert's ``ends_at`` is when it
resolved.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from multimonx.model import Labels


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert: identity (``labels``), what it says (``annotations``, ``value``) and its
    times. ``value`` is the rule expression's value at the last evaluation (NaN if unknown),
    carried for message templates; it is not part of the alert's identity."""

    labels: Labels
    annotations: Labels
    starts_at: float
    ends_at: float
    generator_url: str = ""
    value: float = float("nan")

    @property
    def fingerprint(self) -> str:
        """A stable 16-hex-digit identity of the label set (same labels, same fingerprint)."""
        return fingerprint(self.labels)

    def resolved_at(self, now: float) -> bool:
        """Whether the alert is resolved at ``now`` (its end time has passed)."""
        return self.ends_at <= now


def fingerprint(labels: Labels) -> str:
    """The label set's fingerprint: 16 hex digits of a SHA-256 over the sorted pairs."""
    digest = hashlib.sha256()
    for name, value in labels.pairs:
        digest.update(name.encode())
        digest.update(b"\xff")
        digest.update(value.encode())
        digest.update(b"\xff")
    return digest.hexdigest()[:16]
