"""What notification templates see: Alertmanager's template data (``template.Data``) and the
functions Alertmanager adds to Go's.

A notification template renders one group's alerts for one receiver. Its dot is a
``template.Data`` (:func:`notification_data`): ``.Status``, ``.Receiver``, ``.GroupLabels``,
``.CommonLabels``, ``.CommonAnnotations``, ``.ExternalURL`` and ``.Alerts``, each alert a
``template.Alert`` (:func:`alert_data`) with ``.Status .Labels .Annotations .StartsAt
.EndsAt .GeneratorURL .Fingerprint`` and, our addition, ``.Value`` (the rule expression's
value, NaN if unknown).

The methods Alertmanager's types have work as in Go: ``KV`` (label and annotation sets)
has ``SortedPairs``, ``Names``, ``Values`` and ``Remove``, and prints as
``alertname=X, b=y``; ``Pairs`` has ``Names`` and ``Values``; ``Alerts`` has ``Firing`` and
``Resolved``. Times are ``time.Time`` values printed as Go prints them (millisecond
precision); a firing alert's ``EndsAt`` is Go's zero time, as in Alertmanager.

Functions: Go's builtins, Alertmanager's (``toUpper toLower title join match safeHtml
reReplaceAll stringSlice trimSpace``) and Prometheus's value formatting functions
(``humanize`` and friends, ``toTime``...); not ``query``, ``externalURL`` or ``pathPrefix``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Final

from multimonx.template.funcs import BUILTINS, Func, FuncError, GoMethods, GoTime, Param, Struct

ZERO_TIME_MS: Final = -62_135_596_800_000
"""Go's zero ``time.Time`` (0001-01-01T00:00:00Z) in milliseconds since the epoch."""


class Pairs(list[Struct], GoMethods):
    """Alertmanager's ``template.Pairs``: ``Pair{Name, Value}`` structs in order."""

    go_type_name = "template.Pairs"

    def names(self) -> list[str]:
        return [str(dict(p.fields)["Name"]) for p in self]

    def values(self) -> list[str]:
        return [str(dict(p.fields)["Value"]) for p in self]

    def go_method(self, name: str) -> Callable[..., object] | None:
        return {"Names": self.names, "Values": self.values, "String": self.go_string}.get(name)

    def go_string(self) -> str:
        return ", ".join(f"{n}={v}" for n, v in zip(self.names(), self.values(), strict=True))


class KV(dict[str, str], GoMethods):
    """Alertmanager's ``template.KV``: a ``map[string]string`` of labels or annotations."""

    go_type_name = "template.KV"

    def sorted_pairs(self) -> Pairs:
        """The pairs sorted by name, ``alertname`` first."""
        names = sorted(self, key=lambda n: (n != "alertname", n))
        return Pairs(Struct("template.Pair", (("Name", n), ("Value", self[n]))) for n in names)

    def remove(self, names: object) -> KV:
        """A copy without the ``names`` (a list of strings)."""
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise FuncError("wrong type for value; expected []string")
        return KV((k, v) for k, v in self.items() if k not in names)

    def go_method(self, name: str) -> Callable[..., object] | None:
        methods: dict[str, Callable[..., object]] = {
            "SortedPairs": self.sorted_pairs,
            "Names": lambda: self.sorted_pairs().names(),
            "Values": lambda: self.sorted_pairs().values(),
            "Remove": self.remove,
            "String": self.go_string,
        }
        return methods.get(name)

    def go_string(self) -> str:
        return self.sorted_pairs().go_string()


class Alerts(list[Struct], GoMethods):
    """Alertmanager's ``template.Alerts``: the group's alerts, firing or resolved."""

    go_type_name = "template.Alerts"

    def with_status(self, status: str) -> list[Struct]:
        return [a for a in self if dict(a.fields)["Status"] == status]

    def go_method(self, name: str) -> Callable[..., object] | None:
        if name in ("Firing", "Resolved"):
            return lambda: self.with_status(name.lower())
        return None


def go_time(seconds: float | None) -> GoTime:
    """A ``time.Time`` for seconds since the epoch; None is Go's zero time."""
    if seconds is None or math.isnan(seconds):
        return GoTime(ZERO_TIME_MS)
    return GoTime(round(seconds * 1000))


def alert_data(
    *,
    status: str,
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    starts_at: float,
    ends_at: float | None,
    generator_url: str,
    fingerprint: str,
    value: float,
) -> Struct:
    """One ``template.Alert``; ``ends_at`` None for a firing alert (Go's zero time)."""
    return Struct(
        "template.Alert",
        (
            ("Status", status),
            ("Labels", KV(labels)),
            ("Annotations", KV(annotations)),
            ("StartsAt", go_time(starts_at)),
            ("EndsAt", go_time(ends_at)),
            ("GeneratorURL", generator_url),
            ("Fingerprint", fingerprint),
            ("Value", float(value)),
        ),
    )


def notification_data(
    *,
    receiver: str,
    status: str,
    alerts: Iterable[Struct],
    group_labels: Mapping[str, str],
    common_labels: Mapping[str, str],
    common_annotations: Mapping[str, str],
    external_url: str,
) -> Struct:
    """The ``template.Data`` dot of a notification template."""
    return Struct(
        "template.Data",
        (
            ("Receiver", receiver),
            ("Status", status),
            ("Alerts", Alerts(alerts)),
            ("GroupLabels", KV(group_labels)),
            ("CommonLabels", KV(common_labels)),
            ("CommonAnnotations", KV(common_annotations)),
            ("ExternalURL", external_url),
        ),
    )


def _join(sep: str, items: object) -> str:
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise FuncError("wrong type for value; expected []string")
    return sep.join(items)


def _string_slice(*items: str) -> list[str]:
    return list(items)


_A, _S = Param.ANY, Param.STRING

NOTIFICATION_FUNCTIONS: Final[Mapping[str, Func]] = MappingProxyType(
    {
        **BUILTINS,
        "join": Func(_join, (_S, _A)),
        "stringSlice": Func(_string_slice, (), _S),
        "trimSpace": Func(str.strip, (_S,)),
    }
)
"""Every function a notification template may call: name -> function."""
