"""Alert templates: the part of Go's ``text/template`` that Prometheus rules use.

The ``labels`` and ``annotations`` of an alerting rule are templates, parsed once when the
rule file loads (:func:`parse_template`) and rendered for every alert (:meth:`Template.render`).
Like Prometheus, the text is parsed behind the definitions
``{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}
{{$value := .Value}}``, so those variables exist and error positions match Prometheus's.

Notification templates (the ``title`` and ``body`` of a receiver) are parsed by
:func:`parse_notification_template`, without that prelude and with Alertmanager's function
set, and render Alertmanager's ``template.Data`` (:meth:`Template.render_data`, data built
by :mod:`multimonx.template.notification`).

What is supported, with Go's semantics and Go's error messages:

- text and ``{{ actions }}``, trim markers ``{{- `` and `` -}}``, comments ``{{/* ... */}}``;
- pipelines ``a | f b`` (the left value becomes the last argument), parenthesised pipelines,
  variables (``$``, ``$x``, ``$x.field``), fields (``.``, ``.Labels.job``), literals (strings
  with Go escapes, raw strings, integers in any base, floats, characters, ``true``,
  ``false``, ``nil``);
- ``$x := p`` and ``$x = p``, scoped to the enclosing control structure;
- ``if``/``else if``/``else``, ``with``/``else with``/``else``, ``range p`` and
  ``range $i, $e := p`` over lists and maps (in key order) with ``else``, ``break`` and
  ``continue``;
- Go's builtins (``and or not len index slice print printf println eq ne lt le gt ge html js
  urlquery``) and Prometheus's functions (``query first label value strvalue sortByLabel
  args reReplaceAll match title toUpper toLower safeHtml graphLink tableLink stripPort
  stripDomain humanize humanize1024 humanizeDuration humanizePercentage humanizeTimestamp
  toTime parseDuration externalURL pathPrefix``); see :mod:`multimonx.template.funcs`.

Differences from Go and Prometheus:

- ``define``, ``template`` and ``block`` are refused at parse time, ``call`` is not a
  function, and values have no methods (``(toTime 0).Unix`` fails) except those of
  Alertmanager's template types (``.Alerts.Firing``, ``.CommonLabels.Remove $names``);
- complex constants are refused; printf knows no ``%[n]`` indexes, no ``*`` widths and no
  ``%b``/``%p`` for floats;
- strings are text: escapes (``"\\xff"``) that are not UTF-8 become U+FFFD, while ``len``,
  ``index``, ``slice`` and error columns count UTF-8 bytes as Go does;
- ``%v`` of a list of samples prints each as ``&{...}`` where Go prints addresses;
- regular expressions are RE2's (the syntax Go accepts; error texts differ);
- ``query`` runs the function given to :meth:`Template.render`, and fails without one;
  ``pathPrefix`` is the path of the data's external URL.
"""

from __future__ import annotations

import bisect
import enum
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from multimonx.template.funcs import (
    BUILTINS,
    FUNCTION_NAMES,
    AnyMap,
    Func,
    FuncError,
    GoMethods,
    Param,
    QueryFunction,
    Sample,
    Struct,
    context_functions,
    go_quote,
    go_type,
    is_true,
    print_value,
)
from multimonx.template.notification import NOTIFICATION_FUNCTIONS

_PRELUDE: Final = (
    "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}"
    "{{$externalURL := .ExternalURL}}{{$value := .Value}}"
)
_DATA_TYPE: Final = (
    "struct { Labels map[string]string; ExternalLabels map[string]string; "
    "ExternalURL string; Value float64 }"
)
_MAX_DEPTH: Final = 100  # nested controls and parentheses, well inside Python's stack


class TemplateError(Exception):
    """A template that does not parse, or fails while rendering; str() is the message."""


@dataclass(frozen=True, slots=True)
class TemplateData:
    """What an alert's templates see: the dot ``.`` and the variables of the prelude."""

    labels: Mapping[str, str]  # $labels and .Labels
    value: float  # $value and .Value
    external_labels: Mapping[str, str] = field(default_factory=dict)  # $externalLabels
    external_url: str = ""  # $externalURL and .ExternalURL


# --- Lexer ----------------------------------------------------------------------------


class _T(enum.Enum):
    TEXT = enum.auto()
    LEFT = enum.auto()
    RIGHT = enum.auto()
    SPACE = enum.auto()
    IDENT = enum.auto()
    KEYWORD = enum.auto()
    BOOL = enum.auto()
    NIL = enum.auto()
    DOT = enum.auto()
    VAR = enum.auto()
    FIELD = enum.auto()
    NUMBER = enum.auto()
    CHAR_CONST = enum.auto()
    STRING = enum.auto()
    RAW_STRING = enum.auto()
    PIPE = enum.auto()
    DECLARE = enum.auto()
    ASSIGN = enum.auto()
    LPAREN = enum.auto()
    RPAREN = enum.auto()
    CHAR = enum.auto()
    EOF = enum.auto()
    ERROR = enum.auto()


@dataclass(frozen=True, slots=True)
class _Token:
    kind: _T
    value: str
    pos: int
    line: int


_SPACE: Final = " \t\r\n"
_SPACES: Final = frozenset(_SPACE)
_DIGITS: Final = frozenset("0123456789")
_KEYWORDS: Final = frozenset(
    ("if", "else", "end", "range", "with", "define", "template", "block", "break", "continue")
)


def _alnum(ch: str) -> bool:
    return ch == "_" or ch.isalpha() or ch.isdecimal()


def _rune(ch: str) -> str:
    return f"U+{ord(ch):04X} '{ch}'" if ch.isprintable() else f"U+{ord(ch):04X}"


class _Lexer:
    """Splits a template into tokens as Go's lexer does, stopping at the first error."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.parens = 0
        self.tokens: list[_Token] = []
        self.newlines = [i for i, ch in enumerate(text) if ch == "\n"]

    def _left_trim(self, left: int) -> bool:
        """Whether the ``{{`` at ``left`` has a trim marker (``{{- ``)."""
        return self.text.startswith("-", left + 2) and self.text[left + 3 : left + 4] in _SPACES

    def run(self) -> list[_Token]:
        text = self.text
        while (left := text.find("{{", self.pos)) >= 0:
            trim = self._left_trim(left)
            end = len(text[self.pos : left].rstrip(_SPACE)) + self.pos if trim else left
            if end > self.pos:
                self._add(_T.TEXT, self.pos, end)
            inside = left + (4 if trim else 2)
            ok = self._comment(inside) if text.startswith("/*", inside) else self._action(left)
            if not ok:
                break
        else:
            if self.pos < len(text):
                self._add(_T.TEXT, self.pos, len(text))
        self._add(_T.EOF, len(text), len(text))
        return self.tokens

    def _add(self, kind: _T, start: int, end: int) -> None:
        line = bisect.bisect_left(self.newlines, start) + 1
        self.tokens.append(_Token(kind, self.text[start:end], start, line))

    def _error(self, message: str, at: int) -> bool:
        line = bisect.bisect_left(self.newlines, at) + 1
        self.tokens.append(_Token(_T.ERROR, message, at, line))
        return False

    def _right_delim(self, p: int) -> tuple[bool, bool]:
        """Whether ``}}`` starts at p, and whether with a trim marker (`` -}}``)."""
        text = self.text
        if text[p : p + 1] in _SPACES and text.startswith("-}}", p + 1):
            return True, True
        return text.startswith("}}", p), False

    def _close(self, p: int, trim: bool, *, emit: bool) -> None:
        if trim:
            p += 2
        if emit:
            self._add(_T.RIGHT, p, p + 2)
        p += 2
        if trim:
            while p < len(self.text) and self.text[p] in _SPACE:
                p += 1
        self.pos = p

    def _comment(self, at: int) -> bool:
        close = self.text.find("*/", at + 2)
        if close < 0:
            return self._error("unclosed comment", at)
        delim, trim = self._right_delim(close + 2)
        if not delim:
            return self._error("comment ends before closing delimiter", at)
        self._close(close + 2, trim, emit=False)
        return True

    def _action(self, left: int) -> bool:
        text, n = self.text, len(self.text)
        self._add(_T.LEFT, left, left + 2)
        self.parens = 0
        p = left + (4 if self._left_trim(left) else 2)
        while True:
            delim, trim = self._right_delim(p)
            if delim:
                if self.parens:
                    return self._error("unclosed left paren", p)
                self._close(p, trim, emit=True)
                return True
            if p >= n:
                return self._error("unclosed action", p)
            ch = text[p]
            if ch in _SPACE:
                q = p
                while q < n and text[q] in _SPACE:
                    q += 1
                if text.startswith("-}}", q):
                    q -= 1  # the last space belongs to the trim marker
                if q > p:
                    self._add(_T.SPACE, p, q)
                p = q
                continue
            q = self._lex_one(p, ch)
            if q < 0:
                return False
            p = q

    def _lex_one(self, p: int, ch: str) -> int:
        """Lexes the token at p; its end, or -1 after an error token."""
        text = self.text
        single = {"=": _T.ASSIGN, "|": _T.PIPE, "(": _T.LPAREN, ")": _T.RPAREN}
        if ch == ":":
            if not text.startswith(":=", p):
                self._error("expected :=", p)
                return -1
            self._add(_T.DECLARE, p, p + 2)
            return p + 2
        if ch in single:
            self.parens += {"(": 1, ")": -1}.get(ch, 0)
            if self.parens < 0:
                self._error("unexpected right paren", p)
                return -1
            self._add(single[ch], p, p + 1)
            return p + 1
        if ch in "\"'":
            return self._quoted(p, ch)
        if ch == "`":
            close = text.find("`", p + 1)
            if close < 0:
                self._error("unterminated raw quoted string", p)
                return -1
            self._add(_T.RAW_STRING, p, close + 1)
            return close + 1
        if ch == "$" or (ch == "." and text[p + 1 : p + 2] not in _DIGITS):
            return self._field_or_variable(p, _T.VAR if ch == "$" else _T.FIELD)
        if ch in _DIGITS or ch in "+-.":
            return self._number(p)
        if _alnum(ch):
            return self._identifier(p)
        if ch.isascii() and ch.isprintable():
            self._add(_T.CHAR, p, p + 1)
            return p + 1
        self._error(f"unrecognized character in action: {_rune(ch)}", p)
        return -1

    def _quoted(self, p: int, quote: str) -> int:
        text, q = self.text, p + 1
        while q < len(text) and text[q] != quote:
            if text[q] == "\n" or (text[q] == "\\" and text[q + 1 : q + 2] in ("", "\n")):
                break
            q += 2 if text[q] == "\\" else 1
        if q >= len(text) or text[q] != quote:
            what = "quoted string" if quote == '"' else "character constant"
            self._error(f"unterminated {what}", p)
            return -1
        self._add(_T.STRING if quote == '"' else _T.CHAR_CONST, p, q + 1)
        return q + 1

    def _at_terminator(self, q: int) -> bool:
        return q >= len(self.text) or self.text[q] in _SPACE + ".,|:()}"

    def _scan_alnum(self, q: int) -> int:
        while q < len(self.text) and _alnum(self.text[q]):
            q += 1
        return q

    def _field_or_variable(self, p: int, kind: _T) -> int:
        if self._at_terminator(p + 1):
            self._add(kind if kind is _T.VAR else _T.DOT, p, p + 1)
            return p + 1
        q = self._scan_alnum(p + 1)
        if not self._at_terminator(q):
            self._error(f"bad character {_rune(self.text[q])}", p)
            return -1
        self._add(kind, p, q)
        return q

    def _identifier(self, p: int) -> int:
        q = self._scan_alnum(p)
        if not self._at_terminator(q):
            self._error(f"bad character {_rune(self.text[q])}", p)
            return -1
        word = self.text[p:q]
        kind = _T.KEYWORD if word in _KEYWORDS else _T.IDENT
        if word in ("true", "false"):
            kind = _T.BOOL
        self._add(_T.NIL if word == "nil" else kind, p, q)
        return q

    def _scan_number(self, q: int) -> int:
        text = self.text
        if text[q : q + 1] in ("+", "-"):
            q += 1
        digits, exponents = "0123456789_", "eE"
        if text[q : q + 2].lower() in ("0x", "0o", "0b"):
            base = text[q + 1].lower()
            digits = {"x": "0123456789abcdefABCDEF_", "o": "01234567_", "b": "01_"}[base]
            exponents = "pP" if base == "x" else ""
            q += 2
        while q < len(text) and text[q] in digits:
            q += 1
        if text[q : q + 1] == ".":
            q += 1
            while q < len(text) and text[q] in digits:
                q += 1
        if exponents and text[q : q + 1] in tuple(exponents):
            q += 1
            if text[q : q + 1] in ("+", "-"):
                q += 1
            while q < len(text) and text[q] in "0123456789_":
                q += 1
        if text[q : q + 1] == "i":
            q += 1
        return q

    def _number(self, p: int) -> int:
        q = self._scan_number(p)
        if q < len(self.text) and _alnum(self.text[q]):
            self._error(f"bad number syntax: {go_quote(self.text[p : q + 1])}", p)
            return -1
        if self.text[q : q + 1] in ("+", "-"):  # a complex constant such as 1+2i
            q = self._scan_number(q)
            if not self.text[:q].endswith("i") or (q < len(self.text) and _alnum(self.text[q])):
                self._error(f"bad number syntax: {go_quote(self.text[p:q])}", p)
                return -1
        self._add(_T.NUMBER, p, q)
        return q


# --- Syntax tree ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Literal:
    pos: int
    text: str  # as written
    value: str | int | float | bool


@dataclass(frozen=True, slots=True)
class _Nil:
    pos: int


@dataclass(frozen=True, slots=True)
class _Dot:
    pos: int


@dataclass(frozen=True, slots=True)
class _Var:
    pos: int
    names: tuple[str, ...]  # ("$labels", "job")


@dataclass(frozen=True, slots=True)
class _Field:
    pos: int
    names: tuple[str, ...]  # ("Labels", "job")


@dataclass(frozen=True, slots=True)
class _Ident:
    pos: int
    name: str


@dataclass(frozen=True, slots=True)
class _Chain:
    pos: int
    node: _Operand
    fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Command:
    pos: int
    args: tuple[_Operand, ...]


@dataclass(frozen=True, slots=True)
class _Pipe:
    pos: int
    decls: tuple[str, ...]
    is_assign: bool
    cmds: tuple[_Command, ...]


_Operand = _Literal | _Nil | _Dot | _Var | _Field | _Ident | _Chain | _Pipe


@dataclass(frozen=True, slots=True)
class _Text:
    text: str


@dataclass(frozen=True, slots=True)
class _Action:
    pos: int
    pipe: _Pipe


@dataclass(frozen=True, slots=True)
class _Control:
    kind: str  # if, with or range
    pos: int
    pipe: _Pipe
    body: tuple[_Node, ...]
    orelse: tuple[_Node, ...] | None


@dataclass(frozen=True, slots=True)
class _Jump:
    kind: str  # break or continue
    pos: int


@dataclass(frozen=True, slots=True)
class _End:
    pos: int


@dataclass(frozen=True, slots=True)
class _Else:
    pos: int


_Node = _Text | _Action | _Control | _Jump


def _show(node: _Operand | _Command | _Node) -> str:
    """A node as Go's ``String()`` writes it, for error messages."""
    match node:
        case _Literal() | _Ident():
            return node.text if isinstance(node, _Literal) else node.name
        case _Nil() | _Dot():
            return "nil" if isinstance(node, _Nil) else "."
        case _Var() | _Field():
            return ("." if isinstance(node, _Field) else "") + ".".join(node.names)
        case _Chain():
            head = f"({_show(node.node)})" if isinstance(node.node, _Pipe) else _show(node.node)
            return head + "".join("." + f for f in node.fields)
        case _Command():
            return " ".join(
                f"({_show(a)})" if isinstance(a, _Pipe) else _show(a) for a in node.args
            )
        case _Pipe():
            decls = (
                ", ".join(node.decls) + (" = " if node.is_assign else " := ") if node.decls else ""
            )
            return decls + " | ".join(_show(c) for c in node.cmds)
        case _Text():
            return node.text
        case _Action():
            return "{{" + _show(node.pipe) + "}}"
        case _Control():
            orelse = "" if node.orelse is None else "{{else}}" + "".join(map(_show, node.orelse))
            body = "".join(map(_show, node.body))
            return f"{{{{{node.kind} {_show(node.pipe)}}}}}{body}{orelse}{{{{end}}}}"
        case _Jump():
            return "{{" + node.kind + "}}"


# --- Parser ---------------------------------------------------------------------------

_COMMAND_START: Final = frozenset(
    {_T.BOOL, _T.CHAR_CONST, _T.DOT, _T.FIELD, _T.IDENT, _T.NUMBER, _T.NIL}
    | {_T.RAW_STRING, _T.STRING, _T.VAR, _T.LPAREN}
)
_ESCAPES: Final = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92}
_DECIMAL_FLOAT: Final = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_HEX_FLOAT: Final = re.compile(
    r"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?\d+"
)


def _describe(token: _Token) -> str:
    if token.kind is _T.EOF:
        return "EOF"
    if token.kind in (_T.KEYWORD, _T.DOT, _T.NIL):
        return f"<{token.value}>"
    if len(token.value) > 10:
        return go_quote(token.value[:10]) + "..."
    return go_quote(token.value)


def _unescape(body: str, quote: str) -> bytes | None:
    """The bytes of a Go quoted literal's body, or None where strconv.Unquote fails."""
    out = bytearray()
    i = 0
    while i < len(body):
        if body[i] != "\\":
            out += body[i].encode()
            i += 1
            continue
        esc, i = body[i + 1 : i + 2], i + 2
        if esc in _ESCAPES:
            out.append(_ESCAPES[esc])
        elif esc == quote:
            out += quote.encode()
        elif esc and esc in "xuU":
            size = {"x": 2, "u": 4, "U": 8}[esc]
            digits, i = body[i : i + size], i + size
            if len(digits) != size or not all(c in "0123456789abcdefABCDEF" for c in digits):
                return None
            code = int(digits, 16)
            if esc == "x":
                out.append(code)
            elif code > 0x10FFFF or 0xD800 <= code < 0xE000:
                return None
            else:
                out += chr(code).encode()
        elif esc and esc in "01234567":
            digits, i = body[i - 1 : i + 2], i + 2
            if len(digits) != 3 or not all(c in "01234567" for c in digits) or int(digits, 8) > 255:
                return None
            out.append(int(digits, 8))
        else:
            return None
    return bytes(out)


class _Parser:
    """Recursive descent over the tokens, following Go's parser (and its messages)."""

    def __init__(self, text: str, name: str, functions: frozenset[str] = FUNCTION_NAMES) -> None:
        self.name = name
        self.functions = functions
        self.tokens = _Lexer(text).run()
        self.i = 0
        self.high = 0  # the furthest token read; Go reports errors at its line
        self.vars = ["$"]
        self.action_line = 0
        self.range_depth = 0
        self.depth = 0

    def _peek(self) -> _Token:
        i = min(self.i, len(self.tokens) - 1)
        self.high = max(self.high, i)
        return self.tokens[i]

    def _next(self) -> _Token:
        token = self._peek()
        if token.kind is _T.ERROR:
            extra = ""
            if self.action_line and self.action_line != token.line:
                extra = f" in action started at {self.name}:{self.action_line}"
                if token.value.endswith(" action"):
                    extra = extra[len(" in action") :]
            raise self._error(token.value + extra)
        self.i += 1
        return token

    def _peek_non_space(self) -> _Token:
        while self._peek().kind is _T.SPACE:
            self.i += 1
        return self._peek()

    def _next_non_space(self) -> _Token:
        self._peek_non_space()
        return self._next()

    def _error(self, message: str) -> TemplateError:
        line = self.tokens[self.high].line
        return TemplateError(f"template: {self.name}:{line}: {message}")

    def _unexpected(self, token: _Token, context: str) -> TemplateError:
        return self._error(f"unexpected {_describe(token)} in {context}")

    def _expect(self, kind: _T, context: str) -> _Token:
        token = self._next_non_space()
        if token.kind is not kind:
            raise self._unexpected(token, context)
        return token

    def parse(self) -> tuple[_Node, ...]:
        nodes: list[_Node] = []
        while self._peek().kind is not _T.EOF:
            node = self._text_or_action()
            if isinstance(node, _End | _Else):
                raise self._error("unexpected {{" + type(node).__name__[1:].lower() + "}}")
            nodes.append(node)
        return tuple(nodes)

    def _item_list(self) -> tuple[tuple[_Node, ...], _End | _Else]:
        nodes: list[_Node] = []
        while self._peek_non_space().kind is not _T.EOF:
            node = self._text_or_action()
            if isinstance(node, _End | _Else):
                return tuple(nodes), node
            nodes.append(node)
        raise self._error("unexpected EOF")

    def _text_or_action(self) -> _Node | _End | _Else:
        token = self._next_non_space()
        if token.kind is _T.TEXT:
            return _Text(token.value)
        if token.kind is not _T.LEFT:
            raise self._unexpected(token, "input")
        self.action_line = token.line
        try:
            return self._action()
        finally:
            self.action_line = 0

    def _action(self) -> _Node | _End | _Else:
        token = self._next_non_space()
        if token.kind is _T.KEYWORD:
            word = token.value
            if word == "end":
                return _End(self._expect(_T.RIGHT, "end").pos)
            if word == "else":
                peek = self._peek_non_space()
                if peek.kind is _T.KEYWORD and peek.value in ("if", "with"):
                    return _Else(peek.pos)
                return _Else(self._expect(_T.RIGHT, "else").pos)
            if word in ("if", "with", "range"):
                return self._control(word)
            if word in ("break", "continue"):
                close = self._next_non_space()
                if close.kind is not _T.RIGHT:
                    raise self._unexpected(close, "{{" + word + "}}")
                if not self.range_depth:
                    raise self._error("{{" + word + "}} outside {{range}}")
                return _Jump(word, token.pos)
            raise self._error("{{" + word + "}} is not supported")
        self.i -= 1
        return _Action(self._peek().pos, self._pipeline("command", _T.RIGHT))

    def _enter(self, what: str) -> None:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise self._error(f"max {what} depth exceeded")

    def _control(self, kind: str) -> _Control:
        self._enter("nesting")
        mark = len(self.vars)
        try:
            pipe = self._pipeline(kind, _T.RIGHT)
            self.range_depth += kind == "range"
            body, after = self._item_list()
            self.range_depth -= kind == "range"
            orelse: tuple[_Node, ...] | None = None
            if isinstance(after, _Else):
                peek = self._peek()
                if kind != "range" and peek.kind is _T.KEYWORD and peek.value == kind:
                    self._next()  # "{{else if ...}}" is "{{else}}{{if ...}}...{{end}}{{end}}"
                    orelse = (self._control(kind),)
                else:
                    orelse, after = self._item_list()
                    if isinstance(after, _Else):
                        raise self._error("expected end; found {{else}}")
            return _Control(kind, pipe.pos, pipe, body, orelse)
        finally:
            del self.vars[mark:]
            self.depth -= 1

    def _pipeline(self, context: str, end: _T) -> _Pipe:
        pos = self._peek_non_space().pos
        decls: list[str] = []
        is_assign = False
        while self._peek_non_space().kind is _T.VAR:
            back = self.i
            var = self._next()
            after = self._peek_non_space()
            if after.kind in (_T.ASSIGN, _T.DECLARE):
                self._next()
                is_assign = after.kind is _T.ASSIGN
                decls.append(var.value)
                self.vars.append(var.value)
                break
            if after.kind is not _T.CHAR or after.value != ",":
                self.i = back
                break
            self._next()
            decls.append(var.value)
            self.vars.append(var.value)
            if context != "range" or len(decls) >= 2:
                raise self._error(f"too many declarations in {context}")
            if self._peek_non_space().kind not in (_T.VAR, _T.RIGHT, _T.RPAREN):
                raise self._error("range can only initialize variables")
        cmds: list[_Command] = []
        while True:
            token = self._next_non_space()
            if token.kind is end:
                if not cmds:
                    raise self._error(f"missing value for {context}")
                for stage, cmd in enumerate(cmds[1:], start=2):
                    if isinstance(cmd.args[0], _Literal | _Nil | _Dot):
                        raise self._error(f"non executable command in pipeline stage {stage}")
                return _Pipe(pos, tuple(decls), is_assign, tuple(cmds))
            if token.kind not in _COMMAND_START:
                raise self._unexpected(token, context)
            self.i -= 1
            cmds.append(self._command())

    def _command(self) -> _Command:
        pos = self._peek_non_space().pos
        args: list[_Operand] = []
        while True:
            self._peek_non_space()
            operand = self._operand()
            if operand is not None:
                args.append(operand)
            token = self._next()
            if token.kind is _T.SPACE:
                continue
            if token.kind in (_T.RIGHT, _T.RPAREN):
                self.i -= 1
            elif token.kind is not _T.PIPE:
                raise self._unexpected(token, "operand")
            break
        if not args:
            raise self._error("empty command")
        return _Command(pos, tuple(args))

    def _operand(self) -> _Operand | None:
        node = self._term()
        if node is None or self._peek().kind is not _T.FIELD:
            return node
        pos = self._peek().pos  # Go places a chain at its first field
        fields: list[str] = []
        while self._peek().kind is _T.FIELD:
            fields.append(self._next().value[1:])
        if isinstance(node, _Field):
            return _Field(pos, node.names + tuple(fields))
        if isinstance(node, _Var):
            return _Var(pos, node.names + tuple(fields))
        if isinstance(node, _Literal | _Nil | _Dot):
            raise self._error(f"unexpected . after term {go_quote(_show(node))}")
        return _Chain(pos, node, tuple(fields))

    def _term(self) -> _Operand | None:
        token = self._peek_non_space()
        kind, pos = token.kind, token.pos
        if kind not in _COMMAND_START:
            return None
        self._next()
        if kind is _T.IDENT:
            if token.value not in self.functions:
                raise self._error(f"function {go_quote(token.value)} not defined")
            return _Ident(pos, token.value)
        if kind is _T.VAR:
            if token.value not in self.vars:
                raise self._error(f"undefined variable {go_quote(token.value)}")
            return _Var(pos, (token.value,))
        if kind is _T.LPAREN:
            self._enter("expression")
            try:
                return self._pipeline("parenthesized pipeline", _T.RPAREN)
            finally:
                self.depth -= 1
        if kind is _T.DOT:
            return _Dot(pos)
        if kind is _T.NIL:
            return _Nil(pos)
        if kind is _T.FIELD:
            return _Field(pos, (token.value[1:],))
        if kind is _T.BOOL:
            return _Literal(pos, token.value, token.value == "true")
        if kind in (_T.NUMBER, _T.CHAR_CONST):
            return _Literal(pos, token.value, self._number(token))
        if kind is _T.RAW_STRING:
            return _Literal(pos, token.value, token.value[1:-1].replace("\r", ""))
        raw = _unescape(token.value[1:-1], '"')
        if raw is None:
            raise self._error("invalid syntax")
        return _Literal(pos, token.value, raw.decode(errors="replace"))

    def _number(self, token: _Token) -> int | float:
        text = token.value
        if token.kind is _T.CHAR_CONST:
            body = text[1:-1]
            raw = _unescape(body, "'") if body != "'" else None
            if raw is None:
                raise self._error("invalid syntax")
            if body.startswith("\\") and body[1] in "x01234567":
                return raw[0]
            chars = raw.decode(errors="replace")
            if len(chars) != 1:
                raise self._error(f"malformed character constant: {text}")
            return ord(chars)
        if text.endswith("i"):
            raise self._error(f"complex constants are not supported: {go_quote(text)}")
        body = text.lstrip("+-")
        hexadecimal = body[:2] in ("0x", "0X")
        floaty = any(c in text for c in ("pP" if hexadecimal else ".eE"))
        number: int | None
        try:
            if re.fullmatch(r"0[0-7_]+", body):
                number = int(body.replace("_", ""), 8) * (-1 if text.startswith("-") else 1)
            else:
                number = int(text, 0)
        except ValueError:
            number = None
        if number is not None:
            if not -(2**63) <= number < 2**64:
                raise self._error(f"integer overflow: {go_quote(text)}")
            return float(number) if floaty else number
        if _DECIMAL_FLOAT.fullmatch(text) or _HEX_FLOAT.fullmatch(text):
            value = float.fromhex(text) if _HEX_FLOAT.fullmatch(text) else float(text)
            if value not in (float("inf"), float("-inf")):
                if not floaty:
                    raise self._error(f"integer overflow: {go_quote(text)}")
                return value
        raise self._error(f"illegal number syntax: {go_quote(text)}")


# --- Evaluator ------------------------------------------------------------------------


class _Missing(enum.Enum):
    FINAL = enum.auto()  # no value piped in from the left


_NO_FINAL: Final = _Missing.FINAL


class _BreakSignal(Exception):  # noqa: N818 - control flow, not an error
    """``{{break}}``: leaves the innermost range."""


class _ContinueSignal(Exception):  # noqa: N818 - control flow, not an error
    """``{{continue}}``: ends this iteration of the innermost range."""


class _Exec:
    """One render: the variable stack, the output, and the node errors are reported at."""

    def __init__(self, template: Template, funcs: Mapping[str, Func]) -> None:
        self.template = template
        self.funcs = funcs
        self.vars: list[tuple[str, object]] = []
        self.out: list[str] = []
        self.node: _Operand | _Command | _Node | None = None

    def fail(self, message: str) -> TemplateError:
        name, source, node = self.template.name, self.template.source, self.node
        pos = getattr(node, "pos", 0)
        before = source[:pos]
        column = len(before[before.rfind("\n") + 1 :].encode())
        context = _show(node) if node is not None else ""
        if len(context) > 20:
            context = context[:20] + "..."
        return TemplateError(
            f"template: {name}:{before.count(chr(10)) + 1}:{column}: "
            f"executing {go_quote(name)} at <{context}>: {message}"
        )

    def walk(self, dot: object, nodes: Sequence[_Node]) -> None:
        for node in nodes:
            if isinstance(node, _Text):
                self.out.append(node.text)
            elif isinstance(node, _Action):
                value = self.pipe(dot, node.pipe)
                if not node.pipe.decls:
                    self.out.append(print_value(value))
            elif isinstance(node, _Jump):
                raise _BreakSignal if node.kind == "break" else _ContinueSignal
            elif node.kind == "range":
                self.range(dot, node)
            else:
                mark = len(self.vars)
                try:
                    value = self.pipe(dot, node.pipe)
                    if is_true(value):
                        self.walk(value if node.kind == "with" else dot, node.body)
                    elif node.orelse is not None:
                        self.walk(dot, node.orelse)
                finally:
                    del self.vars[mark:]

    def range(self, dot: object, node: _Control) -> None:
        mark = len(self.vars)
        try:
            value = self.pipe(dot, node.pipe)
            if isinstance(value, list):
                items: list[tuple[object, object]] = list(enumerate(value))
            elif isinstance(value, Mapping):
                items = sorted(value.items())
            elif value is None:
                items = []
            else:
                self.node = node
                raise self.fail(f"range can't iterate over {print_value(value)}")
            inner, decls = len(self.vars), node.pipe.decls
            for key, elem in items:
                if node.pipe.is_assign:
                    for name, item in zip(decls, (key, elem)[-len(decls) :], strict=True):
                        self.set_var(name, item)
                elif decls:
                    self.vars[-1] = (decls[-1], elem)
                    if len(decls) > 1:
                        self.vars[-2] = (decls[0], key)
                try:
                    self.walk(elem, node.body)
                except _ContinueSignal:
                    pass
                finally:
                    del self.vars[inner:]
            if not items and node.orelse is not None:
                self.walk(dot, node.orelse)
        except _BreakSignal:
            pass
        finally:
            del self.vars[mark:]

    def pipe(self, dot: object, pipe: _Pipe) -> object:
        self.node = pipe
        value: object = _NO_FINAL
        for cmd in pipe.cmds:
            value = self.command(dot, cmd, value)
        for name in pipe.decls:
            if pipe.is_assign:
                self.set_var(name, value)
            else:
                self.vars.append((name, value))
        return value

    def set_var(self, name: str, value: object) -> None:
        for i in range(len(self.vars) - 1, -1, -1):
            if self.vars[i][0] == name:
                self.vars[i] = (name, value)
                return
        raise self.fail(f"undefined variable: {name}")

    def var_value(self, name: str) -> object:
        for var, value in reversed(self.vars):
            if var == name:
                return value
        raise self.fail(f"undefined variable: {name}")

    def not_a_function(self, args: Sequence[_Operand], final: object) -> None:
        if len(args) > 1 or final is not _NO_FINAL:
            raise self.fail(f"can't give argument to non-function {_show(args[0])}")

    def command(self, dot: object, cmd: _Command, final: object) -> object:
        first = cmd.args[0]
        if isinstance(first, _Field):
            self.node = first
            return self.fields(dot, dot, first.names, cmd.args, final)
        if isinstance(first, _Chain):
            return self.chain(dot, first, cmd.args, final)
        if isinstance(first, _Ident):
            return self.call(dot, first, cmd, cmd.args[1:], final)
        if isinstance(first, _Var):
            return self.variable(dot, first, cmd.args, final)
        if isinstance(first, _Pipe):
            self.not_a_function(cmd.args, final)
            return self.pipe(dot, first)
        self.node = first
        self.not_a_function(cmd.args, final)
        if isinstance(first, _Nil):
            raise self.fail("nil is not a command")
        return dot if isinstance(first, _Dot) else first.value

    def variable(self, dot: object, var: _Var, args: Sequence[_Operand], final: object) -> object:
        self.node = var
        value = self.var_value(var.names[0])
        if len(var.names) == 1:
            self.not_a_function(args, final)
            return value
        return self.fields(dot, value, var.names[1:], args, final)

    def chain(self, dot: object, chain: _Chain, args: Sequence[_Operand], final: object) -> object:
        self.node = chain
        if isinstance(chain.node, _Nil):
            raise self.fail(f"indirection through explicit nil in {_show(chain)}")
        value = self.argument(dot, chain.node)
        return self.fields(dot, value, chain.fields, args, final)

    def fields(
        self,
        dot: object,
        receiver: object,
        names: Sequence[str],
        args: Sequence[_Operand],
        final: object,
    ) -> object:
        node = self.node
        for i, name in enumerate(names):
            last = i == len(names) - 1
            method = receiver.go_method(name) if isinstance(receiver, GoMethods) else None
            if method is None:
                with_args = last and (len(args) > 1 or final is not _NO_FINAL)
                receiver = self.field(receiver, name, with_args)
                continue
            argv = [self.argument(dot, a) for a in args[1:]] if last else []
            if last and final is not _NO_FINAL:
                argv.append(final)
            self.node = node
            receiver = self.call_method(name, method, argv)
        return receiver

    def call_method(self, name: str, method: Callable[..., object], argv: list[object]) -> object:
        """A method of a named Go type (``.Alerts.Firing``, ``.Labels.Remove $names``)."""
        want = _arity(method)
        if len(argv) != want:
            raise self.fail(f"wrong number of args for {name}: want {want} got {len(argv)}")
        try:
            return method(*argv)
        except FuncError as err:
            raise self.fail(f"error calling {name}: {err}") from None

    def field(self, receiver: object, name: str, with_args: bool) -> object:
        if receiver is None:
            return None
        if isinstance(receiver, Struct | Sample):
            if isinstance(receiver, Sample):
                found = {"Labels": receiver.labels, "Value": receiver.value}
                type_name = "template.sample"
            else:
                found, type_name = dict(receiver.fields), receiver.type_name
            if name not in found:
                raise self.fail(f"can't evaluate field {name} in type {type_name}")
            if with_args:
                raise self.fail(f"{name} has arguments but cannot be invoked as function")
            return found[name]
        if isinstance(receiver, Mapping):
            if with_args:
                raise self.fail(f"{name} is not a method but has arguments")
            return receiver.get(name, None if isinstance(receiver, AnyMap) else "")
        raise self.fail(f"can't evaluate field {name} in type {go_type(receiver)}")

    def argument(self, dot: object, node: _Operand) -> object:
        """An operand's value as an argument of no particular type."""
        self.node = node
        if isinstance(node, _Field):
            return self.fields(dot, dot, node.names, (node,), _NO_FINAL)
        if isinstance(node, _Var):
            return self.variable(dot, node, (), _NO_FINAL)
        if isinstance(node, _Pipe):
            return self.pipe(dot, node)
        if isinstance(node, _Ident):
            return self.call(dot, node, node, (), _NO_FINAL)
        if isinstance(node, _Chain):
            return self.chain(dot, node, (), _NO_FINAL)
        if isinstance(node, _Literal):
            return node.value
        return dot if isinstance(node, _Dot) else None

    def typed_argument(self, dot: object, param: Param, node: _Operand) -> object:
        self.node = node
        if isinstance(node, _Nil):
            if param in (Param.STRING, Param.VALUE):
                raise self.fail(f"cannot assign nil to {param.value}")
            return None
        if not isinstance(node, _Literal):
            return self.check(self.argument(dot, node), param)
        if param in (Param.ANY, Param.VALUE) or (param is Param.STRING and type(node.value) is str):
            return node.value
        if param is Param.STRING:
            raise self.fail(f"expected string; found {node.text}")
        raise self.fail(f"can't handle {node.text} for arg of type {param.value}")

    def check(self, value: object, param: Param) -> object:
        if param in (Param.ANY, Param.VALUE):
            return value
        if value is None:
            if param is Param.STRING:
                raise self.fail(f"invalid value; expected {param.value}")
            return None
        wanted = {Param.STRING: str, Param.SAMPLE: Sample, Param.SAMPLES: list}[param]
        if not isinstance(value, wanted):
            raise self.fail(f"wrong type for value; expected {param.value}; got {go_type(value)}")
        return value

    def call(
        self,
        dot: object,
        ident: _Ident,
        cmd: _Command | _Ident,
        args: Sequence[_Operand],
        final: object,
    ) -> object:
        self.node = ident
        name = ident.name
        func = self.funcs.get(name) or BUILTINS[name]
        count = len(args) + (final is not _NO_FINAL)
        fixed = len(func.params)
        if func.variadic is not None and count < fixed:
            message = f"want at least {fixed} got {len(args)}"
            raise self.fail(f"wrong number of args for {name}: {message}")
        if func.variadic is None and count != fixed:
            raise self.fail(f"wrong number of args for {name}: want {fixed} got {count}")
        params = func.params + (func.variadic or Param.ANY,) * max(count - fixed, 0)
        if func.lazy:  # and, or: stop at the first operand that decides
            value: object = None
            for arg in args:
                value = self.typed_argument(dot, Param.VALUE, arg)
                if is_true(value) == (name == "or"):
                    return value
            return value if final is _NO_FINAL else final
        argv = [self.typed_argument(dot, p, a) for p, a in zip(params, args, strict=False)]
        if final is not _NO_FINAL:
            argv.append(self.check(final, params[-1]))
        try:
            return func.impl(*argv)
        except FuncError as err:
            self.node = cmd
            raise self.fail(f"error calling {name}: {err}") from None


def _arity(method: Callable[..., object]) -> int:
    """How many arguments a bound method takes (Go checks the count before calling)."""
    code = getattr(method, "__code__", None) or getattr(
        getattr(method, "__func__", None), "__code__", None
    )
    if code is None:
        return 0
    count = int(code.co_argcount)
    return count - 1 if getattr(method, "__self__", None) is not None else count


# --- Public API -----------------------------------------------------------------------


class TemplateKind(enum.Enum):
    """What a template renders: one alert of a rule (Prometheus's data and functions) or one
    notification (Alertmanager's ``template.Data`` and functions)."""

    RULE = "rule"
    NOTIFICATION = "notification"


@dataclass(frozen=True, slots=True)
class Template:
    """A parsed template, ready to render for any number of alerts."""

    name: str
    text: str
    source: str = field(repr=False)  # the text behind the prelude, as Go parses it
    nodes: tuple[_Node, ...] = field(repr=False)
    kind: TemplateKind = TemplateKind.RULE

    def render(self, data: TemplateData, *, query: QueryFunction | None = None) -> str:
        """The text for one alert; raises TemplateError as Go's execution does. ``query``
        runs PromQL for the ``query`` function."""
        if self.kind is not TemplateKind.RULE:
            raise TemplateError(f"template: {self.name}: a notification template renders data")
        dot = Struct(
            _DATA_TYPE,
            (
                ("Labels", data.labels),
                ("ExternalLabels", data.external_labels),
                ("ExternalURL", data.external_url),
                ("Value", float(data.value)),
            ),
        )
        run = _Exec(self, context_functions(query, data.external_url))
        run.vars.append(("$", dot))
        run.walk(dot, self.nodes)  # the parser keeps break and continue inside ranges
        return "".join(run.out)

    def render_data(self, dot: object) -> str:
        """The text of a notification template for its data (see
        :mod:`multimonx.template.notification`); raises TemplateError as Go does."""
        if self.kind is not TemplateKind.NOTIFICATION:
            raise TemplateError(f"template: {self.name}: a rule template renders an alert")
        run = _Exec(self, NOTIFICATION_FUNCTIONS)
        run.vars.append(("$", dot))
        run.walk(dot, self.nodes)
        return "".join(run.out)


def parse_template(text: str, name: str) -> Template:
    """Parse once (at rule-file load); raises TemplateError with Go's wording."""
    source = _PRELUDE + text
    return Template(name, text, source, _Parser(source, name).parse())


def parse_notification_template(text: str, name: str) -> Template:
    """Parse a notification template (no prelude: the dot is Alertmanager's
    ``template.Data``) once, at configuration load; raises TemplateError with Go's wording."""
    nodes = _Parser(text, name, frozenset(NOTIFICATION_FUNCTIONS)).parse()
    return Template(name, text, text, nodes, TemplateKind.NOTIFICATION)


__all__ = [
    "Template",
    "TemplateData",
    "TemplateError",
    "TemplateKind",
    "parse_notification_template",
    "parse_template",
]
