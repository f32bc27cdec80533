"""The alert as the rules hand it to the notifier, and as the notifier routes, groups,
mutes and delivers it (Prometheus's ``notifier.Alert``, Alertmanager's ``types.Alert``).

Times are seconds since the epoch (floats). A firing alert's ``ends_at`` is a deadline in
the future: if the rules stop re-sending it (rule deleted, server down) it resolves by
itself then, as Prometheus's ``ValidUntil`` does; a resolved alert's ``ends_at`` is when it
resolved.
"""

from __future__ import annotations

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


_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_MASK64 = (1 << 64) - 1


def fingerprint(labels: Labels) -> str:
    """The label set's fingerprint as Prometheus and Alertmanager compute it (``model.
    LabelSet.Fingerprint``): FNV-1a 64 over the sorted names and values, each followed by a
    0xff byte, as 16 hex digits. Alertmanager's webhook payloads carry the same value."""
    h = _FNV_OFFSET
    for name, value in labels.pairs:
        for byte in b"".join((name.encode(), b"\xff", value.encode(), b"\xff")):
            h = ((h ^ byte) * _FNV_PRIME) & _MASK64
    return f"{h:016x}"
