"""Query results encoded as the Prometheus HTTP API writes them (2.42's ``util/jsonutil`` and
``promql.Scalar``), so that clients parsing numbers as text see the same digits.

- A sample of a vector or matrix is ``[<seconds>, "<value>"]``: seconds are written from the
  millisecond timestamp as ``<s>`` or ``<s>.<mmm>`` (always three digits after the point);
  the value is Go's shortest ``'f'`` form, switching to ``'e'`` for ``|v| < 1e-6`` or
  ``|v| >= 1e21``, and ``NaN``, ``+Inf``, ``-Inf``.
- A scalar or string result is ``[<seconds>, "<text>"]`` where the seconds are the float
  ``t / 1000`` in its shortest form and a scalar's value is always in ``'f'`` form.

The body is assembled as text because a generic JSON encoder would write numbers its own way.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import orjson

from multimonx.model import Labels
from multimonx.promql.values import MatrixSeries, QueryResult, VectorSample

_E_BELOW = 1e-6
_E_FROM = 1e21


def _special(value: float) -> str | None:
    """Go's text for NaN and the infinities, None for a finite value."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return None


def format_positional(value: float) -> str:
    """Go's ``strconv.FormatFloat(value, 'f', -1, 64)``: the shortest digits that read back
    as ``value``, without an exponent (``1e20`` -> ``100000000000000000000``, ``-0.0`` ->
    ``-0``)."""
    special = _special(value)
    if special is not None:
        return special
    text = repr(value)
    if "e" not in text:
        return text[:-2] if text.endswith(".0") else text
    mantissa, exponent = text.split("e")
    sign = "-" if mantissa.startswith("-") else ""
    whole, _, fraction = mantissa.lstrip("-").partition(".")
    digits = whole + fraction
    point = len(whole) + int(exponent)
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return f"{sign}{digits[:point]}.{digits[point:]}"


def format_value(value: float) -> str:
    """A sample value as Prometheus's ``jsonutil.MarshalFloat`` writes it (without quotes)."""
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < _E_BELOW or magnitude >= _E_FROM):
        special = _special(value)
        # Python's shortest repr uses the same digits and exponent form as Go's 'e' with -1
        # precision in this range: '1e-07', '1.5e+21'.
        return special if special is not None else repr(value)
    return format_positional(value)


def format_timestamp(t_ms: int) -> str:
    """A sample's millisecond timestamp as Prometheus's ``jsonutil.MarshalTimestamp`` writes
    it: ``1.500``, ``-0.001``, ``1435781451``."""
    sign = "-" if t_ms < 0 else ""
    seconds, millis = divmod(abs(t_ms), 1000)
    if millis:
        return f"{sign}{seconds}.{millis:03d}"
    return f"{sign}{seconds}"


def format_seconds(t_ms: int) -> str:
    """A scalar's or string's timestamp: the float ``t_ms / 1000`` written by Go's
    ``encoding/json`` (shortest form: ``1.5``, ``1435781451.781``)."""
    return format_positional(t_ms / 1000)


def _json_string(text: str) -> bytes:
    return orjson.dumps(text)


_METRIC_TEXTS: dict[Labels, bytes] = {}
_MAX_METRIC_TEXTS = 1 << 18


def _metric(labels: Labels) -> bytes:
    """``labels`` as a JSON object, remembered: answers repeat the same series' labels."""
    text = _METRIC_TEXTS.get(labels)
    if text is None:
        if len(_METRIC_TEXTS) >= _MAX_METRIC_TEXTS:
            _METRIC_TEXTS.clear()
        text = _METRIC_TEXTS[labels] = orjson.dumps(dict(labels.pairs))
    return text


def _vector(samples: list[VectorSample]) -> list[bytes]:
    values = format_values(np.fromiter((one.value for one in samples), np.float64, len(samples)))
    stamps: dict[int, bytes] = {}
    parts = [b"["]
    for one, value in zip(samples, values, strict=True):
        stamp = stamps.get(one.t_ms)
        if stamp is None:
            stamp = stamps[one.t_ms] = format_timestamp(one.t_ms).encode()
        parts.append(b'{"metric":%b,"value":[%b,"%b"]},' % (_metric(one.labels), stamp, value))
    return _closed(parts)


def _closed(parts: list[bytes]) -> list[bytes]:
    """``parts`` (an opening ``[`` and items each ending in a comma) closed by ``]`` in place
    of the last item's comma."""
    if len(parts) > 1:
        parts[-1] = parts[-1][:-1]
    parts.append(b"]")
    return parts


def format_values(values: npt.NDArray[np.float64]) -> list[bytes]:
    """``format_value`` of every value, as ASCII bytes, fast for the common case: where
    orjson writes the shortest digits without an exponent, as Python's ``repr`` does
    (``1e-4 <= |v| < 1e16``, or zero), it writes Go's digits but for a trailing ``.0`` on
    whole numbers, which is cut (one ``replace`` over the whole text when whole numbers are
    many, since a search for ``.0,`` costs as much as a pass over every value's text); the
    other values (rare in monitoring data) go through ``format_value``."""
    if not len(values):
        return []
    written = orjson.dumps(np.ascontiguousarray(values), option=orjson.OPT_SERIALIZE_NUMPY)
    with np.errstate(invalid="ignore"):
        magnitude = np.abs(values)
        other = ~np.isfinite(values) | (magnitude >= 1e16) | ((magnitude < 1e-4) & (values != 0))
        whole = np.flatnonzero((values == np.trunc(values)) & ~other)
    if len(whole) * _WHOLE_ONE_BY_ONE > len(values):
        texts = (written[1:-1] + b",").replace(b".0,", b",").split(b",")
        texts.pop()
    else:
        texts = written[1:-1].split(b",")
        for i in whole.tolist():
            texts[i] = texts[i][:-2]
    for i in np.flatnonzero(other).tolist():
        texts[i] = format_value(float(values[i])).encode()
    return texts


_WHOLE_ONE_BY_ONE = 32
"""Whole numbers up to one value in this many have their ``.0`` cut one by one."""


def _distinct_times(
    times: npt.NDArray[np.int64], longest: MatrixSeries, *, all_as_long: bool
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], bool]:
    """The distinct values of ``times``, where each time is among them, and whether they are
    the times of ``longest``. A range query's series hold steps of one grid, so the longest
    series usually holds them all: then, if every series is as long (``all_as_long``), one
    comparison shows they all hold the same times, else a search finds them; failing that,
    they are sorted out."""
    grid = longest.timestamps
    if len(grid):
        if all_as_long and bool((times.reshape(-1, len(grid)) == grid).all()):
            return grid, np.tile(np.arange(len(grid)), len(times) // len(grid)), True
        which = np.searchsorted(grid, times).clip(max=len(grid) - 1)
        if bool((grid[which] == times).all()):
            return grid, which, True
    distinct, which = np.unique(times, return_inverse=True)
    return distinct, which, False


def _matrix(matrix: list[MatrixSeries]) -> list[bytes]:
    """The series of a matrix, in pieces, with no Python call per point: every value
    formatted by one ``format_values`` call and each distinct timestamp once; a series
    holding every step of the grid (the usual case) is written by one ``%`` into the grid's
    template, the others by one ``join`` of their timestamps and values interleaved."""
    if not matrix:
        return [b"[]"]
    times = np.concatenate([one.timestamps for one in matrix])
    longest = max(matrix, key=lambda one: len(one.timestamps))
    all_as_long = len(times) == len(matrix) * len(longest.timestamps)
    distinct, which, on_grid = _distinct_times(times, longest, all_as_long=all_as_long)
    # '"],[<t>,"': closes the point before, opens this one (the first one's close is cut)
    opening = [b'"],[' + format_timestamp(t_ms).encode() + b',"' for t_ms in distinct.tolist()]
    whole_grid = b"[" + b"%b".join(opening)[3:] + b'%b"]]},' if on_grid else None
    texts = format_values(np.concatenate([one.values for one in matrix]))
    parts = [b"["]
    at = 0
    for one in matrix:
        end = at + len(one.timestamps)
        parts.append(b'{"metric":%b,"values":' % _metric(one.labels))
        if end == at:
            parts.append(b"[]},")
        elif whole_grid is not None and end - at == len(opening):
            parts.append(whole_grid % tuple(texts[at:end]))
        else:
            pieces: list[bytes] = [b""] * (2 * (end - at))
            pieces[::2] = map(opening.__getitem__, which[at:end].tolist())
            pieces[1::2] = texts[at:end]
            parts.append(b"[" + b"".join(pieces)[3:] + b'"]]},')
        at = end
    return _closed(parts)


def result_parts(result: QueryResult) -> list[bytes]:
    """The ``data`` object of a query answer, ``{"resultType": ..., "result": ...}``, as
    pieces to join: a large matrix is copied once, into the response body."""
    if result.result_type == "vector":
        body = _vector(result.vector or [])
    elif result.result_type == "matrix":
        body = _matrix(result.matrix or [])
    elif result.result_type == "scalar" and result.scalar is not None:
        t_ms, value = result.scalar
        body = [f'[{format_seconds(t_ms)},"{format_positional(value)}"]'.encode()]
    elif result.result_type == "string" and result.string is not None:
        t_ms, text = result.string
        body = [b"[%b,%b]" % (format_seconds(t_ms).encode(), _json_string(text))]
    else:
        raise ValueError(f"unknown result type {result.result_type!r}")
    return [b'{"resultType":"%b","result":' % result.result_type.encode(), *body, b"}"]


def result_json(result: QueryResult) -> bytes:
    """``result_parts`` joined."""
    return b"".join(result_parts(result))


def success_body(data_json: str | bytes | list[bytes], warnings: list[str] | None = None) -> bytes:
    """The success envelope around already encoded ``data`` (text, or pieces to join), with
    ``warnings`` if any."""
    if isinstance(data_json, str):
        data = [data_json.encode()]
    else:
        data = [data_json] if isinstance(data_json, bytes) else data_json
    extra = b',"warnings":' + orjson.dumps(warnings) if warnings else b""
    return b"".join([b'{"status":"success","data":', *data, extra, b"}"])
