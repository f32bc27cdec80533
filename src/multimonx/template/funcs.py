"""The functions alert templates can call, and Go's ways of printing values.

:mod:`multimonx.template.engine` parses and runs templates; this module is what the values
are (Python stand-ins for the Go types Prometheus hands its templates), how Go's ``fmt``
prints them, and the function table: Go's ``text/template`` builtins plus Prometheus's
functions (``template/template.go``), each with its parameter types so that the engine can
check arguments the way Go's reflection does.

Value model: ``str`` string, ``int`` int, ``float`` float64, ``bool`` bool, ``None`` nil
(printed as ``<no value>`` by an action), a ``Mapping[str, str]`` a ``map[string]string``
(a missing key reads as ""), :class:`AnyMap` the ``map[string]interface{}`` of ``args``,
:class:`Sample` a ``*sample`` and ``list[Sample]`` a query result, :class:`GoTime` a
``*time.Time`` and :class:`Struct` the template data.
"""

from __future__ import annotations

import enum
import ipaddress
import itertools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Final, Protocol, cast
from urllib.parse import quote_plus, urlsplit

from multimonx.model.regex import RegexError, compile_regex

QueryFunction = Callable[[str], list[tuple[Mapping[str, str], float]]]
"""Runs a PromQL instant query: the samples of the result as (labels, value) pairs."""


class FuncError(Exception):
    """A function failed; the engine reports ``error calling <name>: <message>``."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One sample of a query result: Prometheus's ``*sample`` (fields Labels and Value)."""

    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True, slots=True)
class GoTime:
    """A ``*time.Time`` in UTC with millisecond precision, as ``toTime`` returns it."""

    millis: int

    def __str__(self) -> str:
        moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=self.millis)
        frac = f".{self.millis % 1000:03d}".rstrip("0").rstrip(".")
        return f"{moment.year:04d}-{moment:%m-%d %H:%M:%S}{frac} +0000 UTC"


@dataclass(frozen=True, slots=True)
class Struct:
    """A Go struct value: its type's name and its fields in declaration order."""

    type_name: str
    fields: tuple[tuple[str, object], ...]


class AnyMap(dict[str, object]):
    """A ``map[string]interface{}``: a missing key reads as nil, not as ""."""


class GoMethods:
    """A value of a named Go type with methods (Alertmanager's ``KV``, ``Alerts``...).

    ``.Name`` on such a value calls the method ``go_method(Name)`` returns (with the
    command's arguments, checked by the method itself: it raises FuncError with Go's
    message); ``go_string`` is its ``String()`` method, which Go's printing prefers."""

    go_type_name = "interface {}"

    def go_method(self, name: str) -> Callable[..., object] | None:
        """The method called ``name``, or None when the type has none."""
        return None

    def go_string(self) -> str | None:
        """What ``String()`` returns, or None when the type has no such method."""
        return None


class Param(enum.Enum):
    """The Go type of a function parameter, as far as argument checks need it."""

    ANY = "interface {}"
    VALUE = "reflect.Value"
    STRING = "string"
    SAMPLE = "*template.sample"
    SAMPLES = "template.queryResult"


@dataclass(frozen=True, slots=True)
class Func:
    """A template function: what it does, its fixed parameters, and the type of its
    ``...`` parameter (None when it has none). ``lazy`` marks ``and``/``or``, whose
    arguments the engine evaluates one at a time."""

    impl: Callable[..., object]
    params: tuple[Param, ...]
    variadic: Param | None = None
    lazy: bool = False


# --- Go's names and printing ----------------------------------------------------------


_SIMPLE_TYPES: Final[Mapping[type, str]] = MappingProxyType(
    {bool: "bool", int: "int", float: "float64", str: "string", list: "template.queryResult"}
)


def go_type(value: object) -> str:
    """The Go type name of a value, as ``%T`` prints it."""
    if value is None:
        return "<nil>"
    if isinstance(value, GoMethods):
        return value.go_type_name
    if type(value) in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[type(value)]
    if isinstance(value, AnyMap):
        return "map[string]interface {}"
    if isinstance(value, Mapping):
        return "map[string]string"
    if isinstance(value, Sample):
        return "*template.sample"
    if isinstance(value, GoTime):
        return "*time.Time"
    if isinstance(value, Struct):
        return value.type_name
    return type(value).__name__


def go_quote(text: str) -> str:
    """``text`` as Go's ``strconv.Quote`` writes it."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        elif ch in _CONTROL_ESCAPES:
            out.append(_CONTROL_ESCAPES[ch])
        elif code < 0x80:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


_CONTROL_ESCAPES: Final = MappingProxyType(
    {"\a": r"\a", "\b": r"\b", "\f": r"\f", "\n": r"\n", "\r": r"\r", "\t": r"\t", "\v": r"\v"}
)


def format_float(x: float, verb: str = "g", prec: int = -1) -> str:
    """``x`` as Go's fmt prints it with ``verb`` (e, E, f, F, g, G) and precision ``prec``
    (-1: the default, which for g is the shortest text that reads back as ``x``)."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    if verb in "gG" and prec < 0:
        return _shortest_g(x, verb == "G")
    return format(x, f".{6 if prec < 0 else prec}{verb}")


def _shortest_g(x: float, upper: bool) -> str:
    # strconv's %g with the shortest digits: exponent form below 1e-4 or from 1e+06 on.
    if x == 0:
        return "-0" if math.copysign(1.0, x) < 0 else "0"
    sign, digit_tuple, exponent = Decimal(repr(x)).as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple)).lstrip("0")
    point = len(digits) + exponent  # digits before the decimal point
    digits = digits.rstrip("0")
    neg = "-" if sign else ""
    if not -4 <= point - 1 < 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        power = point - 1
        return f"{neg}{mantissa}{'E' if upper else 'e'}{'-' if power < 0 else '+'}{abs(power):02d}"
    if point <= 0:
        return f"{neg}0.{'0' * -point}{digits}"
    whole, frac = digits[:point].ljust(point, "0"), digits[point:]
    return f"{neg}{whole}.{frac}" if frac else f"{neg}{whole}"


def format_value(value: object) -> str:
    """``value`` as Go's ``%v`` prints it."""
    return _format_arg("v", value, _Spec())


def print_value(value: object) -> str:
    """``value`` as a template action writes it (``<no value>`` for nil, a sample without
    its ``&``)."""
    if value is None:
        return "<no value>"
    if isinstance(value, Sample):
        return format_value(value)[1:]
    return format_value(value)


def go_sprint(args: Sequence[object]) -> str:
    """Go's ``fmt.Sprint``: spaces between operands when neither is a string."""
    out: list[str] = []
    for i, arg in enumerate(args):
        if i and not isinstance(arg, str) and not isinstance(args[i - 1], str):
            out.append(" ")
        out.append(format_value(arg))
    return "".join(out)


@dataclass(slots=True)
class _Spec:
    """The flags, width and precision of one printf verb."""

    plus: bool = False
    minus: bool = False
    sharp: bool = False
    space: bool = False
    zero: bool = False
    width: int = -1
    prec: int = -1

    def pad(self, text: str, *, zeros: bool = True) -> str:
        """``text`` padded to the width: on the right for ``-``, else with zeros for ``0``
        (unless ``zeros`` is false), else with spaces."""
        if len(text) >= self.width:
            return text
        if self.minus:
            return text.ljust(self.width)
        return text.rjust(self.width, "0" if self.zero and zeros else " ")

    def sign(self, negative: bool) -> str:
        return "-" if negative else "+" if self.plus else " " if self.space else ""

    def pad_number(self, sign: str, body: str) -> str:
        if self.zero and not self.minus and self.width > 0:
            return sign + body.rjust(self.width - len(sign), "0")
        return self.pad(sign + body, zeros=False)


def go_sprintf(fmt: str, args: Sequence[object]) -> str:
    """Go's ``fmt.Sprintf`` for the verbs templates use: ``%v %s %q %d %f %e %g %x %X %o
    %b %c %t %T %%`` with flags ``+ - # 0 space``, widths and precisions."""
    out: list[str] = []
    i, used = 0, 0
    while i < len(fmt):
        j = fmt.find("%", i)
        if j < 0:
            out.append(fmt[i:])
            break
        out.append(fmt[i:j])
        spec, i = _parse_spec(fmt, j + 1)
        if i >= len(fmt):
            out.append("%!(NOVERB)")
            break
        verb = fmt[i]
        i += 1
        if verb == "%":
            out.append("%")
        elif used >= len(args):
            out.append(f"%!{verb}(MISSING)")
        else:
            out.append(_format_arg(verb, args[used], spec))
            used += 1
    if used < len(args):
        extra = ", ".join(_bad_operand(a) for a in args[used:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


def _parse_spec(fmt: str, i: int) -> tuple[_Spec, int]:
    spec = _Spec()
    flags = {"+": "plus", "-": "minus", "#": "sharp", " ": "space", "0": "zero"}
    while i < len(fmt) and fmt[i] in flags:
        setattr(spec, flags[fmt[i]], True)
        i += 1
    start = i
    while i < len(fmt) and fmt[i].isdigit():
        i += 1
    if i > start:
        spec.width = int(fmt[start:i])
    if i < len(fmt) and fmt[i] == ".":
        i += 1
        start = i
        while i < len(fmt) and fmt[i].isdigit():
            i += 1
        spec.prec = int(fmt[start:i] or "0")
    return spec, i


def _bad_operand(arg: object) -> str:
    return "<nil>" if arg is None else f"{go_type(arg)}={format_value(arg)}"


def _format_arg(verb: str, arg: object, spec: _Spec) -> str:
    """One operand under one verb, Go's way (``%!d(string=x)`` for a verb that does not fit)."""
    if verb == "T":
        return spec.pad(go_type(arg))
    if arg is None:
        return spec.pad("<nil>") if verb == "v" else f"%!{verb}(<nil>)"
    text: str | None = None
    if isinstance(arg, GoMethods) and verb in "sv" and (stringer := arg.go_string()) is not None:
        return spec.pad(stringer[: spec.prec] if spec.prec >= 0 else stringer)
    if isinstance(arg, bool):
        text = spec.pad(str(arg).lower()) if verb in "tv" else None
    elif isinstance(arg, int):
        text = _format_int(verb, arg, spec)
    elif isinstance(arg, float):
        text = _format_float_verb(verb, arg, spec)
    elif isinstance(arg, str):
        text = _format_str(verb, arg, spec)
    elif isinstance(arg, GoTime):
        text = _format_str(verb, str(arg), spec)
    elif isinstance(arg, Mapping):
        items = " ".join(
            f"{_format_arg(verb, k, spec)}:{_format_arg(verb, v, spec)}"
            for k, v in sorted(arg.items())
        )
        text = f"map[{items}]"
    elif isinstance(arg, list):
        text = "[" + " ".join(_format_arg(verb, item, spec) for item in arg) + "]"
    elif isinstance(arg, Sample):
        labels, value = _format_arg(verb, arg.labels, spec), _format_arg(verb, arg.value, spec)
        text = f"&{{{labels} {value}}}"
    elif isinstance(arg, Struct):
        text = "{" + " ".join(_format_arg(verb, v, spec) for _, v in arg.fields) + "}"
    return f"%!{verb}({_bad_operand(arg)})" if text is None else text


def _format_int(verb: str, n: int, spec: _Spec) -> str | None:
    if verb == "c":
        return spec.pad(chr(n)) if 0 <= n <= 0x10FFFF else spec.pad("\ufffd")
    if verb == "q":
        char = chr(n) if 0 <= n <= 0x10FFFF else "\ufffd"
        return spec.pad("'" + go_quote(char)[1:-1].replace('\\"', '"').replace("'", "\\'") + "'")
    if verb == "U":
        return spec.pad(f"U+{n:04X}")
    bases = {"d": ("d", ""), "v": ("d", ""), "x": ("x", "0x"), "X": ("X", "0X")}
    bases |= {"o": ("o", "0"), "O": ("o", "0o"), "b": ("b", "0b")}
    if verb not in bases:
        return None
    code, prefix = bases[verb]
    digits = format(abs(n), code)
    if spec.prec >= 0:
        digits = "" if spec.prec == 0 and n == 0 else digits.rjust(spec.prec, "0")
    elif spec.zero and not spec.minus and spec.width > 0:
        digits = digits.rjust(spec.width - len(spec.sign(n < 0)), "0")
    if verb == "O" or (spec.sharp and verb in "xXob"):
        digits = prefix + digits
    return spec.pad(spec.sign(n < 0) + digits, zeros=False)


def _format_float_verb(verb: str, x: float, spec: _Spec) -> str | None:
    if verb in "xX":
        return spec.pad(_hex_float(x, verb == "X"))
    if verb not in "veEfFgG":
        return None
    text = format_float(abs(x) if not math.isnan(x) else x, "g" if verb == "v" else verb, spec.prec)
    if math.isnan(x):
        return spec.pad(("+" if spec.plus else " " if spec.space else "") + text, zeros=False)
    negative = math.copysign(1.0, x) < 0
    if math.isinf(x):
        sign = "-" if negative else " " if spec.space and not spec.plus else "+"
        return spec.pad(sign + "Inf", zeros=False)
    return spec.pad_number(spec.sign(negative), text)


def _hex_float(x: float, upper: bool) -> str:
    if math.isnan(x) or math.isinf(x):
        return format_float(x)
    mantissa, _, power = x.hex().partition("p")
    mantissa = mantissa.rstrip("0").rstrip(".")
    text = f"{mantissa}p{'-' if power.startswith('-') else '+'}{abs(int(power)):02d}"
    return text.upper() if upper else text


def _format_str(verb: str, text: str, spec: _Spec) -> str | None:
    if spec.prec >= 0:
        text = text[: spec.prec]
    if verb in "sv":
        return spec.pad(text)
    if verb == "q":
        return spec.pad(go_quote(text))
    if verb in "xX":
        hexed = text.encode().hex()
        return spec.pad(hexed.upper() if verb == "X" else hexed)
    return None


# --- Truth and comparison -------------------------------------------------------------


def is_true(value: object) -> bool:
    """Go templates' truth: false, 0, nil and empty strings, lists and maps are false."""
    if value is None:
        return False
    if isinstance(value, bool | int | float):
        return value != 0
    if isinstance(value, str | list | Mapping):
        return len(value) > 0
    return True


def _basic_kind(value: object) -> str | None:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    return "string" if isinstance(value, str) else None


def _eq(first: object, *others: object) -> bool:
    if not others:
        raise FuncError("missing argument for comparison")
    kind = _basic_kind(first)
    for other in others:
        if kind != _basic_kind(other):
            if first is not None and other is not None:
                raise FuncError("incompatible types for comparison")
            continue
        if kind is not None:
            truth = first == other
        elif first is None or other is None:
            truth = first is None and other is None
        elif isinstance(first, Sample | GoTime) and type(first) is type(other):
            truth = first is other  # pointers
        elif type(first) is type(other):
            raise FuncError(f"non-comparable type {format_value(first)}: {go_type(first)}")
        else:
            raise FuncError(
                f"non-comparable types {format_value(first)}: {go_type(first)}, "
                f"{go_type(other)}: {format_value(other)}"
            )
        if truth:
            return True
    return False


def _lt(left: object, right: object) -> bool:
    kind = _basic_kind(left)
    if kind is None or _basic_kind(right) is None:
        raise FuncError("invalid type for comparison")
    if kind != _basic_kind(right):
        raise FuncError("incompatible types for comparison")
    if isinstance(left, str) and isinstance(right, str):
        return left < right
    if isinstance(left, int | float) and isinstance(right, int | float) and kind != "bool":
        return left < right
    raise FuncError("invalid type for comparison")


def _le(left: object, right: object) -> bool:
    return _lt(left, right) or _eq(left, right)


# --- Go builtins ----------------------------------------------------------------------


def _len(value: object) -> int:
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, list | Mapping):
        return len(value)
    raise FuncError("len of nil pointer" if value is None else f"len of type {go_type(value)}")


def _int_index(index: object, size: int, limit: int) -> int:
    if index is None:
        raise FuncError("cannot index slice/array with nil")
    if isinstance(index, bool) or not isinstance(index, int):
        raise FuncError(f"cannot index slice/array with type {go_type(index)}")
    if index < 0 or index > limit:
        raise FuncError(f"index out of range: {index}")
    return index


def _index(item: object, *indexes: object) -> object:
    if item is None:
        raise FuncError("index of untyped nil")
    for index in indexes:
        if isinstance(item, str):
            raw = item.encode()
            item = raw[_int_index(index, len(raw), len(raw) - 1)]
        elif isinstance(item, list):
            item = item[_int_index(index, len(item), len(item) - 1)]
        elif isinstance(item, Mapping):
            if not isinstance(index, str):
                raise FuncError(f"value has type {go_type(index)}; should be string")
            item = item.get(index, None if isinstance(item, AnyMap) else "")
        elif item is None:
            raise FuncError("index of nil pointer")
        else:
            raise FuncError(f"can't index item of type {go_type(item)}")
    return item


def _slice(item: object, *indexes: object) -> object:
    if item is None:
        raise FuncError("slice of untyped nil")
    if len(indexes) > 3:
        raise FuncError(f"too many slice indexes: {len(indexes)}")
    if isinstance(item, str) and len(indexes) == 3:
        raise FuncError("cannot 3-index slice a string")
    if not isinstance(item, str | list):
        raise FuncError(f"can't slice item of type {go_type(item)}")
    seq: bytes | list[object] = item.encode() if isinstance(item, str) else item
    bounds = [_int_index(i, len(seq), len(seq)) for i in indexes]
    bounds += [0, len(seq)][len(bounds) :]
    for low, high in itertools.pairwise(bounds):
        if low > high:
            raise FuncError(f"invalid slice index: {low} > {high}")
    part = seq[bounds[0] : bounds[1]]
    return part.decode(errors="replace") if isinstance(part, bytes) else part


def _args_text(args: Sequence[object]) -> str:
    return args[0] if len(args) == 1 and isinstance(args[0], str) else go_sprint(args)


def _html(*args: object) -> str:
    out = _args_text(args)
    for old, new in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&#34;"), ("'", "&#39;")):
        out = out.replace(old, new)
    return out.replace("\0", "\ufffd")


def _js(*args: object) -> str:
    specials = {"\\": "\\\\", "'": "\\'", '"': '\\"', "<": "\\u003C", ">": "\\u003E"}
    specials |= {"&": "\\u0026", "=": "\\u003D"}
    out = []
    for ch in _args_text(args):
        if ch in specials:
            out.append(specials[ch])
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04X}")
        elif ord(ch) < 0x80 or ch.isprintable():
            out.append(ch)
        else:
            out.append(f"\\u{ord(ch):04X}")
    return "".join(out)


# --- Prometheus's functions -----------------------------------------------------------

_FLOAT_RE: Final = re.compile(
    r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
    r"|0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?\d+"
    r"|(?i:inf|infinity))|(?i:nan)"
)


def parse_go_float(text: str) -> float:
    """``text`` read as Go's ``strconv.ParseFloat`` reads it; raises FuncError with its
    message."""
    if _FLOAT_RE.fullmatch(text) is None:
        raise FuncError(f"strconv.ParseFloat: parsing {go_quote(text)}: invalid syntax")
    body = text.lstrip("+-")
    try:
        value = float.fromhex(text) if body[:2] in ("0x", "0X") else float(text)
    except OverflowError:
        value = math.inf
    if math.isinf(value) and body.lower() not in ("inf", "infinity"):
        raise FuncError(f"strconv.ParseFloat: parsing {go_quote(text)}: value out of range")
    return value


def _to_float(value: object) -> float:
    # Prometheus's convertToFloat: numbers, and strings through strconv.ParseFloat.
    if isinstance(value, float):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        return parse_go_float(value)
    raise FuncError(f"can't convert {go_type(value)} to float")


def _g4(x: float) -> str:
    return format_float(x, "g", 4)


def _scale(v: float, step: float, prefixes: str | tuple[str, ...], up: bool) -> tuple[float, str]:
    prefix = ""
    for p in prefixes:
        if (abs(v) < step) if up else (abs(v) >= 1):
            break
        prefix = p
        v = v / step if up else v * step
    return v, prefix


_SMALL_PREFIXES: Final = "munpfazy"


def _humanize(value: object) -> str:
    v = _to_float(value)
    if v == 0 or math.isnan(v) or math.isinf(v):
        return _g4(v)
    if abs(v) >= 1:
        v, prefix = _scale(v, 1000, "kMGTPEZY", up=True)
    else:
        v, prefix = _scale(v, 1000, _SMALL_PREFIXES, up=False)
    return _g4(v) + prefix


def _humanize1024(value: object) -> str:
    v = _to_float(value)
    if abs(v) <= 1 or math.isnan(v) or math.isinf(v):
        return _g4(v)
    prefixes = ("ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi")
    v, prefix = _scale(v, 1024, prefixes, up=True)
    return _g4(v) + prefix


def _humanize_duration(value: object) -> str:
    v = _to_float(value)
    if math.isnan(v) or math.isinf(v):
        return _g4(v)
    if v == 0:
        return _g4(v) + "s"
    if abs(v) < 1:
        v, prefix = _scale(v, 1000, _SMALL_PREFIXES, up=False)
        return f"{_g4(v)}{prefix}s"
    sign = "-" if v < 0 else ""
    v = abs(v)
    whole = int(v)
    days, hours, minutes, seconds = whole // 86400, whole // 3600 % 24, whole // 60 % 60, whole % 60
    if days:
        return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
    if hours:
        return f"{sign}{hours}h {minutes}m {seconds}s"
    if minutes:
        return f"{sign}{minutes}m {seconds}s"
    return f"{sign}{_g4(v)}s"


def _humanize_percentage(value: object) -> str:
    return _g4(_to_float(value) * 100) + "%"


def _to_time(value: object) -> GoTime:
    v = _to_float(value)
    if math.isnan(v) or math.isinf(v):
        raise FuncError("value is NaN or Inf")
    nanos = v * 1e9
    if not -(2.0**63) <= nanos < 2.0**63:
        raise FuncError(
            f"{format_value(v)} cannot be represented as a nanoseconds timestamp "
            "since it overflows int64"
        )
    whole = int(nanos)  # Go truncates toward zero, then to milliseconds
    return GoTime(abs(whole) // 1_000_000 * (1 if whole >= 0 else -1))


def _humanize_timestamp(value: object) -> str:
    v = _to_float(value)
    return _g4(v) if math.isnan(v) or math.isinf(v) else str(_to_time(v))


_DURATION_RE: Final = re.compile(
    r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?"
)
_DURATION_MS: Final = (365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1)


def _parse_duration(text: str) -> float:
    if text == "0":
        return 0.0
    if not text:
        raise FuncError("empty duration string")
    match = _DURATION_RE.fullmatch(text)
    if match is None:
        raise FuncError(f"not a valid duration string: {go_quote(text)}")
    millis = sum(int(n) * unit for n, unit in zip(match.groups(), _DURATION_MS, strict=True) if n)
    return millis / 1000


class _SearchMatch(Protocol):
    def span(self) -> tuple[int, int]: ...
    def group(self, key: int | str = 0, /) -> str | None: ...


class _SearchRegex(Protocol):
    @property
    def groups(self) -> int: ...
    @property
    def groupindex(self) -> Mapping[str, int]: ...
    def search(self, text: str, pos: int = 0, /) -> _SearchMatch | None: ...


def _go_regex(pattern: str) -> _SearchRegex:
    # compile_regex returns google-re2's pattern object, which also searches. It lets "."
    # match newlines, as Prometheus's matchers do; Go's regexp package does not.
    try:
        compile_regex(pattern)  # refused as Go refuses it, whatever wrapping would allow
        try:
            regex = compile_regex(f"(?-s:{pattern})")
        except RegexError:
            regex = compile_regex(pattern)
    except RegexError as err:
        raise FuncError(f"error parsing regexp: {err}") from None
    return cast(_SearchRegex, regex)


def _match(pattern: str, text: str) -> bool:
    return _go_regex(pattern).search(text) is not None


_TEMPLATE_NAME_RE: Final = re.compile(r"(\{)?(\w+)(?(1)\})", re.UNICODE)


def _expand(template: str, match: _SearchMatch, regex: _SearchRegex) -> str:
    # Go's Regexp.Expand: $1, ${1}, $name, ${name}; $$ is a "$"; anything else after "$"
    # stays as it is.
    out: list[str] = []
    i = 0
    while (j := template.find("$", i)) >= 0:
        out.append(template[i:j])
        if template.startswith("$", j + 1):
            out.append("$")
            i = j + 2
            continue
        name_match = _TEMPLATE_NAME_RE.match(template, j + 1)
        if name_match is None:
            out.append("$")
            i = j + 1
            continue
        i = name_match.end()
        name = name_match.group(2)
        group: int | str | None = None
        if name.isascii() and name.isdigit():
            if not (name[0] == "0" and len(name) > 1) and int(name) <= regex.groups:
                group = int(name)
        elif name in regex.groupindex:
            group = name
        if group is not None:
            out.append(match.group(group) or "")
    out.append(template[i:])
    return "".join(out)


def _re_replace_all(pattern: str, replacement: str, text: str) -> str:
    # Go's ReplaceAllString: no replacement for an empty match right after a match.
    regex = _go_regex(pattern)
    out: list[str] = []
    last = pos = 0
    while pos <= len(text):
        match = regex.search(text, pos)
        if match is None:
            break
        start, end = match.span()
        out.append(text[last:start])
        if end > last or start == 0:
            out.append(_expand(replacement, match, regex))
        last = end
        pos = pos + 1 if pos + 1 > end else end
    out.append(text[last:])
    return "".join(out)


def _is_separator(ch: str) -> bool:
    if ch.isascii():
        return not (ch.isalnum() or ch == "_")
    return not (ch.isalpha() or ch.isdecimal()) and ch.isspace()


def _title(text: str) -> str:
    out, prev = [], " "
    for ch in text:
        out.append(_one_rune(ch.title(), ch) if _is_separator(prev) else ch)
        prev = ch
    return "".join(out)


def _one_rune(mapped: str, original: str) -> str:
    # Go maps case rune by rune; Python may map one character to several.
    return mapped if len(mapped) == 1 else original


def _to_upper(text: str) -> str:
    return "".join(_one_rune(ch.upper(), ch) for ch in text)


def _to_lower(text: str) -> str:
    return "".join(_one_rune(ch.lower(), ch) for ch in text)


def _split_host_port(text: str) -> tuple[str, str] | None:
    # Go's net.SplitHostPort; None where it fails.
    colon = text.rfind(":")
    if colon < 0:
        return None
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or end + 1 != colon:
            return None
        host, rest_from, bracket_from = text[1:end], end + 1, 1
    else:
        host, rest_from, bracket_from = text[:colon], 0, 0
        if ":" in host:
            return None
    if "[" in text[bracket_from:] or "]" in text[rest_from:]:
        return None
    return host, text[colon + 1 :]


def _strip_port(host_port: str) -> str:
    split = _split_host_port(host_port)
    return host_port if split is None else split[0]


def _is_ip(host: str) -> bool:
    if "%" in host:
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _strip_domain(host_port: str) -> str:
    split = _split_host_port(host_port)
    host, port = split if split is not None else (host_port, "")
    if _is_ip(host):
        return host_port
    host = host.split(".")[0]
    if not port:
        return host
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _need_sample(sample: Sample | None) -> Sample:
    if sample is None:
        raise FuncError("runtime error: invalid memory address or nil pointer dereference")
    return sample


def _first(samples: list[Sample] | None) -> Sample:
    if not samples:
        raise FuncError("first() called on vector with no elements")
    return samples[0]


def _sort_by_label(label: str, samples: list[Sample] | None) -> list[Sample]:
    return sorted(samples or [], key=lambda s: s.labels.get(label, ""))


def _graph_link(expr: str, tab: int) -> str:
    return f"/graph?g0.expr={quote_plus(expr, safe='')}&g0.tab={tab}"


_A, _V, _S = Param.ANY, Param.VALUE, Param.STRING

BUILTINS: Final[Mapping[str, Func]] = MappingProxyType(
    {
        # Go's text/template builtins
        "and": Func(lambda *a: a[-1], (_V,), _V, lazy=True),
        "or": Func(lambda *a: a[-1], (_V,), _V, lazy=True),
        "not": Func(lambda v: not is_true(v), (_V,)),
        "len": Func(_len, (_V,)),
        "index": Func(_index, (_V,), _V),
        "slice": Func(_slice, (_V,), _V),
        "print": Func(lambda *a: go_sprint(a), (), _A),
        "println": Func(lambda *a: " ".join(map(format_value, a)) + "\n", (), _A),
        "printf": Func(lambda f, *a: go_sprintf(f, a), (_S,), _A),
        "html": Func(_html, (), _A),
        "js": Func(_js, (), _A),
        "urlquery": Func(lambda *a: quote_plus(_args_text(a), safe=""), (), _A),
        "eq": Func(_eq, (_V,), _V),
        "ne": Func(lambda a, b: not _eq(a, b), (_V, _V)),
        "lt": Func(_lt, (_V, _V)),
        "le": Func(_le, (_V, _V)),
        "gt": Func(lambda a, b: not _le(a, b), (_V, _V)),
        "ge": Func(lambda a, b: not _lt(a, b), (_V, _V)),
        # Prometheus's functions (query, externalURL and pathPrefix: context_functions)
        "first": Func(_first, (Param.SAMPLES,)),
        "label": Func(lambda name, s: _need_sample(s).labels.get(name, ""), (_S, Param.SAMPLE)),
        "value": Func(lambda s: _need_sample(s).value, (Param.SAMPLE,)),
        "strvalue": Func(lambda s: _need_sample(s).labels.get("__value__", ""), (Param.SAMPLE,)),
        "sortByLabel": Func(_sort_by_label, (_S, Param.SAMPLES)),
        "args": Func(lambda *a: AnyMap((f"arg{i}", v) for i, v in enumerate(a)), (), _A),
        "reReplaceAll": Func(_re_replace_all, (_S, _S, _S)),
        "match": Func(_match, (_S, _S)),
        "safeHtml": Func(lambda text: text, (_S,)),
        "title": Func(_title, (_S,)),
        "toUpper": Func(_to_upper, (_S,)),
        "toLower": Func(_to_lower, (_S,)),
        "graphLink": Func(lambda expr: _graph_link(expr, 0), (_S,)),
        "tableLink": Func(lambda expr: _graph_link(expr, 1), (_S,)),
        "stripPort": Func(_strip_port, (_S,)),
        "stripDomain": Func(_strip_domain, (_S,)),
        "humanize": Func(_humanize, (_A,)),
        "humanize1024": Func(_humanize1024, (_A,)),
        "humanizeDuration": Func(_humanize_duration, (_A,)),
        "humanizePercentage": Func(_humanize_percentage, (_A,)),
        "humanizeTimestamp": Func(_humanize_timestamp, (_A,)),
        "toTime": Func(_to_time, (_A,)),
        "parseDuration": Func(_parse_duration, (_S,)),
    }
)
"""The functions that do not depend on the render: name -> function."""

FUNCTION_NAMES: Final = frozenset(BUILTINS) | {"query", "externalURL", "pathPrefix"}
"""Every function a template may name; any other name fails the parse."""


def context_functions(query: QueryFunction | None, external_url: str) -> dict[str, Func]:
    """``query``, ``externalURL`` and ``pathPrefix`` for one render."""

    def run_query(expr: str) -> list[Sample]:
        if query is None:
            raise FuncError("queries are not available in this template")
        try:
            result = query(expr)
        except Exception as err:  # the engine's error, reported as Go reports it
            raise FuncError(str(err)) from err
        return [Sample(dict(labels), float(value)) for labels, value in result]

    return {
        "query": Func(run_query, (_S,)),
        "externalURL": Func(lambda: external_url, ()),
        "pathPrefix": Func(lambda: urlsplit(external_url).path, ()),
    }
