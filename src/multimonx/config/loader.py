"""Strict loading of YAML files into frozen config dataclasses.

Every config object is a frozen dataclass whose field types say how a YAML value converts:
``bool``, ``int``, ``float``, ``str``, ``Duration`` ("5s", "1m30s", "500ms"), ``ByteSize``
("256MiB", "1GB", 4096), ``tuple[str, ...]``, ``dict[str, str]``, another config dataclass, or
``X | None``. Unknown keys and bad values raise ``ConfigError`` naming the file, the dotted key
and the reason. ``${VAR}`` and ``${VAR:-default}`` in string values expand from the
environment after parsing, so a variable's content can never change the document's structure.
"""

from __future__ import annotations

import dataclasses
import os
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar, get_args, get_origin

import yaml

T = TypeVar("T")


class ConfigError(ValueError):
    """A config file or value that cannot be used; the message names file, key and reason."""


class _DurationTag:
    pass


class _ByteSizeTag:
    pass


Duration = Annotated[float, _DurationTag]
"""Seconds, written in YAML as a Prometheus duration ("5s", "1m30s", "250ms") or a number."""

ByteSize = Annotated[int, _ByteSizeTag]
"""Bytes, written in YAML as an integer or with a unit ("64KiB", "256MiB", "1GB")."""

_DURATION_RE = re.compile(
    r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?"
)
_DURATION_UNITS = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1, 0.001)
_SIZE_RE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?", re.IGNORECASE)
_SIZE_UNITS = {
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
    "TIB": 2**40,
}
_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def parse_duration(text: str) -> float:
    """Seconds from a Prometheus duration such as ``1m30s``; raises ValueError."""
    match = _DURATION_RE.fullmatch(text.strip())
    if not text.strip() or match is None or not any(match.groups()):
        raise ValueError(f"{text!r} is not a duration (examples: 500ms, 5s, 1m30s, 2h)")
    return float(sum(int(g) * u for g, u in zip(match.groups(), _DURATION_UNITS, strict=True) if g))


def parse_byte_size(text: str) -> int:
    """Bytes from a size such as ``256MiB`` or ``1GB``; raises ValueError."""
    match = _SIZE_RE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a size (examples: 4096, 64KiB, 256MiB, 1GB)")
    return int(float(match.group(1)) * _SIZE_UNITS[(match.group(2) or "B").upper()])


def parse_listen_address(text: str) -> tuple[str, int]:
    """(host, port) from ``host:port``, ``[v6]:port`` or ``:port`` (all interfaces);
    raises ValueError."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"{text!r} is not host:port")
    return host.strip("[]") or "0.0.0.0", int(port)


def expand_env(text: str, environ: Mapping[str, str]) -> str:
    """Expand ``${VAR}`` and ``${VAR:-default}``; raises KeyError for an unset VAR."""

    def repl(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        raise KeyError(name)

    return _ENV_RE.sub(repl, text)


class _Converter:
    def __init__(self, source: str, environ: Mapping[str, str]) -> None:
        self.source = source
        self.environ = environ

    def fail(self, path: str, reason: str) -> ConfigError:
        return ConfigError(f"{self.source}: {path or '<top level>'}: {reason}")

    def convert(self, value: Any, tp: Any, path: str) -> Any:
        if isinstance(value, str):
            try:
                value = expand_env(value, self.environ)
            except KeyError as err:
                raise self.fail(path, f"environment variable {err.args[0]} is not set") from None
        origin = get_origin(tp)
        if origin is Annotated:
            base, tag = get_args(tp)[:2]
            return self._annotated(value, base, tag, path)
        if origin in (types.UnionType, typing.Union):
            options = [a for a in get_args(tp) if a is not type(None)]
            if value is None:
                return None
            return self.convert(value, options[0], path)
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            return self.dataclass(value, tp, path)
        if origin is tuple:
            if not isinstance(value, list):
                raise self.fail(path, f"expected a list, got {_kind(value)}")
            item = get_args(tp)[0]
            return tuple(self.convert(v, item, f"{path}[{i}]") for i, v in enumerate(value))
        if origin is dict:
            if not isinstance(value, dict):
                raise self.fail(path, f"expected a mapping, got {_kind(value)}")
            key_tp, val_tp = get_args(tp)
            return {
                self.convert(k, key_tp, f"{path}.{k}"): self.convert(v, val_tp, f"{path}.{k}")
                for k, v in value.items()
            }
        return self._scalar(value, tp, path)

    def _annotated(self, value: Any, base: Any, tag: Any, path: str) -> Any:
        if isinstance(value, bool):
            raise self.fail(path, f"expected a {base.__name__}, got a boolean")
        try:
            if tag is _DurationTag:
                result: float | int = (
                    parse_duration(value) if isinstance(value, str) else float(value)
                )
            elif tag is _ByteSizeTag:
                result = parse_byte_size(value) if isinstance(value, str) else int(value)
            else:  # pragma: no cover - only the two tags above exist
                raise TypeError(tag)
        except (TypeError, ValueError) as err:
            raise self.fail(path, str(err)) from None
        if result < 0:
            raise self.fail(path, "must not be negative")
        return result

    def _scalar(self, value: Any, tp: Any, path: str) -> Any:
        if tp is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            raise self.fail(path, f"expected true or false, got {value!r}")
        if tp in (int, float):
            if isinstance(value, bool):
                raise self.fail(path, f"expected a number, got {value!r}")
            try:
                number = tp(value)
            except (TypeError, ValueError):
                raise self.fail(path, f"expected a number, got {value!r}") from None
            if tp is int and isinstance(value, float) and not value.is_integer():
                raise self.fail(path, f"expected a whole number, got {value!r}")
            return number
        if tp is str:
            if isinstance(value, (dict, list)) or value is None:
                raise self.fail(path, f"expected a string, got {_kind(value)}")
            return str(value)
        raise self.fail(path, f"unsupported config type {tp!r}")  # pragma: no cover

    def dataclass(self, value: Any, cls: type[T], path: str) -> T:
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a mapping, got {_kind(value)}")
        hints = typing.get_type_hints(cls, include_extras=True)
        fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(str(k) for k in value if k not in fields)
        if unknown:
            known = ", ".join(sorted(fields))
            raise self.fail(
                f"{path}.{unknown[0]}" if path else unknown[0],
                f"unknown key (known keys here: {known})",
            )
        kwargs = {
            name: self.convert(raw, hints[name], f"{path}.{name}" if path else name)
            for name, raw in value.items()
        }
        try:
            return cls(**kwargs)
        except ValueError as err:
            raise self.fail(path, str(err)) from None


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", type(None): "nothing"}.get(
        type(value), f"{type(value).__name__} {value!r}"
    )


def load_mapping(
    data: Any, cls: type[T], source: str = "<config>", environ: Mapping[str, str] | None = None
) -> T:
    """Convert an already-parsed YAML document into ``cls``; raises ConfigError."""
    return _Converter(source, os.environ if environ is None else environ).dataclass(data, cls, "")


def load_file(path: Path, cls: type[T], environ: Mapping[str, str] | None = None) -> T:
    """Read and convert a YAML file into ``cls``; raises ConfigError naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    return load_mapping(data, cls, str(path), environ)
