"""Inhibition (Alertmanager's ``inhibit`` package): a firing alert that matches a rule's
source matchers mutes the alerts matching its target matchers that carry the same values
for every ``equal`` label (a label absent on both sides counts as equal).

An alert that matches both the source and the target side of a rule is never muted by a
source alert that also matches both sides, so such alerts do not silence each other (or
themselves).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from multimonx.model import Labels, Matcher
from multimonx.notify.alert import Alert
from multimonx.notify.config import InhibitRule


class Inhibitor:
    """The inhibition rules applied to one snapshot of alerts, taken at ``now``: only the
    alerts still firing then can inhibit. Immutable once built; build a new one for a new
    snapshot."""

    def __init__(self, rules: Sequence[InhibitRule], alerts: Iterable[Alert], now: float) -> None:
        firing = [a for a in alerts if not a.resolved_at(now)]
        self._rules = tuple(
            (rule, tuple(a for a in firing if _all_match(rule.source_matchers, a.labels)))
            for rule in rules
        )

    def mutes(self, labels: Labels) -> tuple[str, ...]:
        """The fingerprints of the firing alerts that inhibit an alert with ``labels``,
        sorted (empty if it is not inhibited)."""
        found: set[str] = set()
        for rule, sources in self._rules:
            if not sources or not _all_match(rule.target_matchers, labels):
                continue
            two_sided = _all_match(rule.source_matchers, labels)
            for source in sources:
                if any(source.labels.get(n, "") != labels.get(n, "") for n in rule.equal):
                    continue
                if two_sided and _all_match(rule.target_matchers, source.labels):
                    continue
                found.add(source.fingerprint)
        return tuple(sorted(found))


def _all_match(matchers: Iterable[Matcher], labels: Labels) -> bool:
    return all(m.matches(labels) for m in matchers)
