"""PromQL tokens: turns query text into a list of ``Token`` for the parser (Prometheus 3.x).

Keywords (``sum``, ``by``, ``offset``, ``and``...) are left as identifiers; the parser decides
by position what they mean, which also lets them serve as label names inside braces.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass


class ParseError(ValueError):
    """A query that is not valid PromQL; ``pos`` is the character offset of the problem.

    ``str()`` reads as Prometheus's message: ``1:5: parse error: unexpected end of input``.
    """

    def __init__(self, message: str, pos: int, text: str = "") -> None:
        self.message = message
        self.pos = pos
        super().__init__(f"{_position(text, pos)}: parse error: {message}")


def _position(text: str, pos: int) -> str:
    """``line:column`` (both 1-based) of a character offset, as Prometheus prints it."""
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"{line}:{column}"


class Kind(enum.Enum):
    """What a token is."""

    NUMBER = "number"
    DURATION = "duration"
    STRING = "string"
    IDENTIFIER = "identifier"
    OPERATOR = "operator"
    LEFT_PAREN = "("
    RIGHT_PAREN = ")"
    LEFT_BRACE = "{"
    RIGHT_BRACE = "}"
    LEFT_BRACKET = "["
    RIGHT_BRACKET = "]"
    COMMA = ","
    COLON = ":"
    AT = "@"
    EOF = "end of input"


@dataclass(frozen=True, slots=True)
class Token:
    """One token: ``text`` as written (strings unescaped), ``pos`` its character offset."""

    kind: Kind
    text: str
    pos: int

    def describe(self) -> str:
        """How error messages name this token (``identifier "foo"``, ``"}"``)."""
        if self.kind is Kind.EOF:
            return "end of input"
        if self.kind is Kind.IDENTIFIER and self.text.lower() in KEYWORDS:
            return f"<{self.text.lower()}>"
        if self.kind in (Kind.NUMBER, Kind.DURATION, Kind.STRING, Kind.IDENTIFIER):
            return f'{self.kind.value} "{self.text}"'
        return f'"{self.text}"'


KEYWORDS = frozenset(
    {"and", "or", "unless", "atan2", "by", "without", "on", "ignoring", "group_left"}
    | {"group_right", "bool", "offset", "start", "end"}
)
"""Words that Prometheus's lexer makes keywords (besides the aggregation operators)."""

_DIGITS = frozenset("0123456789")
"""ASCII digits only: ``str.isdigit`` also accepts ``²`` and other scripts' digits."""
_NUMBER_RE = re.compile(r"0[xX][0-9a-fA-F]+|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_DURATION_RE = re.compile(r"(?:[0-9]+(?:ms|[smhdwy]))+")
_DURATION_PARTS_RE = re.compile(
    r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?"
)
_DURATION_UNITS_MS = (
    365 * 24 * 3600 * 1000,
    7 * 24 * 3600 * 1000,
    24 * 3600 * 1000,
    3600 * 1000,
    60 * 1000,
    1000,
    1,
)
_IDENTIFIER_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_METRIC_IDENTIFIER_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_OPERATORS = ("=~", "!~", "!=", "==", "<=", ">=", "+", "-", "*", "/", "%", "^", "<", ">", "=")
_PUNCTUATION = {
    "(": Kind.LEFT_PAREN,
    ")": Kind.RIGHT_PAREN,
    "{": Kind.LEFT_BRACE,
    "}": Kind.RIGHT_BRACE,
    "[": Kind.LEFT_BRACKET,
    "]": Kind.RIGHT_BRACKET,
    ",": Kind.COMMA,
    "@": Kind.AT,
}
_SIMPLE_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
}
_HEX_ESCAPE_LENGTHS = {"x": 2, "u": 4, "U": 8}


def parse_duration(text: str) -> int:
    """Milliseconds of a Prometheus duration such as ``1h30m`` (units y w d h m s ms, in order).

    Raises ValueError when ``text`` is not one.
    """
    match = _DURATION_PARTS_RE.fullmatch(text)
    if not text or match is None:
        raise ValueError(f"not a valid duration string: {text!r}")
    return sum(
        int(part) * unit
        for part, unit in zip(match.groups(), _DURATION_UNITS_MS, strict=True)
        if part
    )


def tokenize(text: str) -> list[Token]:
    """All tokens of ``text``, ending with an EOF token; raises ParseError on bad input."""
    return _Lexer(text).run()


class _Lexer:
    """A single pass over the text that remembers whether it is inside ``{}`` or ``[]``."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.tokens: list[Token] = []
        self.in_braces = False
        self.in_brackets = False
        self.parens: list[int] = []

    def run(self) -> list[Token]:
        while self._skip_space_and_comments():
            self._next_token()
        if self.parens:
            raise self._error("unclosed left parenthesis", self.pos)  # at the end, as Go
        if self.in_braces:
            raise self._error("unexpected end of input inside braces", self.pos)
        if self.in_brackets:
            raise self._error("unexpected end of input inside brackets", self.pos)
        self.tokens.append(Token(Kind.EOF, "", len(self.text)))
        return self.tokens

    def _error(self, message: str, pos: int) -> ParseError:
        return ParseError(message, pos, self.text)

    def _skip_space_and_comments(self) -> bool:
        """Advance past blanks and ``#`` comments; False at the end of the text."""
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char in " \t\r\n":
                self.pos += 1
            elif char == "#":
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            else:
                return True
        return False

    def _emit(self, kind: Kind, value: str, start: int, end: int) -> None:
        self.tokens.append(Token(kind, value, start))
        self.pos = end

    def _next_token(self) -> None:
        char = self.text[self.pos]
        if char in "\"'`":
            self._string(char)
        elif char in _DIGITS or (char == "." and self.text[self.pos + 1 : self.pos + 2] in _DIGITS):
            self._number_or_duration()
        elif char.isalpha() or char == "_" or (char == ":" and not self.in_brackets):
            self._identifier()
        elif char == ":":
            self._emit(Kind.COLON, ":", self.pos, self.pos + 1)
        elif char in _PUNCTUATION:
            self._punctuation(char)
        else:
            self._operator()

    def _punctuation(self, char: str) -> None:
        start = self.pos
        if char == "(":
            self.parens.append(start)
        elif char == ")":
            if not self.parens:
                raise self._error("unexpected right parenthesis ')'", start)
            self.parens.pop()
        elif char in "{[":
            if self.in_braces or self.in_brackets:
                raise self._error(f"unexpected left {'brace' if char == '{' else 'bracket'}", start)
            self.in_braces, self.in_brackets = char == "{", char == "["
        elif char in "}]":
            expected = self.in_braces if char == "}" else self.in_brackets
            if not expected:
                raise self._error(
                    f"unexpected right {'brace' if char == '}' else 'bracket'}", start
                )
            self.in_braces = self.in_brackets = False
        self._emit(_PUNCTUATION[char], char, start, start + 1)

    def _operator(self) -> None:
        start = self.pos
        for op in _OPERATORS:
            if self.text.startswith(op, start):
                self._emit(Kind.OPERATOR, op, start, start + len(op))
                return
        if self.text[start] == "!":
            raise self._error("unexpected character after '!'", start)
        raise self._error(f"unexpected character: {self.text[start]!r}", start)

    def _identifier(self) -> None:
        pattern = _IDENTIFIER_RE if self.in_braces else _METRIC_IDENTIFIER_RE
        match = pattern.match(self.text, self.pos)
        if match is None:
            raise self._error(f"unexpected character: {self.text[self.pos]!r}", self.pos)
        self._emit(Kind.IDENTIFIER, match.group(), self.pos, match.end())

    def _number_or_duration(self) -> None:
        start = self.pos
        duration = _DURATION_RE.match(self.text, start)
        number = _NUMBER_RE.match(self.text, start)
        assert number is not None
        if duration is not None and duration.end() > number.end():
            end, kind = duration.end(), Kind.DURATION
            try:
                parse_duration(duration.group())
            except ValueError:
                raise self._error("bad number or duration syntax", start) from None
        else:
            end, kind = number.end(), Kind.NUMBER
        if end < len(self.text) and (self.text[end].isalnum() or self.text[end] in "_."):
            raise self._error(
                f"bad number or duration syntax: {self.text[start : end + 1]!r}", start
            )
        self._emit(kind, self.text[start:end], start, end)

    def _string(self, quote: str) -> None:
        start = self.pos
        if quote == "`":
            end = self.text.find("`", start + 1)
            if end < 0:
                raise self._error("unterminated raw string", start)
            self._emit(Kind.STRING, self.text[start + 1 : end], start, end + 1)
            return
        value, end = self._quoted(start, quote)
        self._emit(Kind.STRING, value, start, end)

    def _quoted(self, start: int, quote: str) -> tuple[str, int]:
        """The unescaped value of a ``"..."`` or ``'...'`` string and the offset after it."""
        text, pos = self.text, start + 1
        out: list[str] = []
        while True:
            if pos >= len(text) or text[pos] == "\n":
                raise self._error("unterminated quoted string", start)
            char = text[pos]
            if char == quote:
                return "".join(out), pos + 1
            if char != "\\":
                out.append(char)
                pos += 1
                continue
            decoded, pos = self._escape(pos + 1, quote)
            out.append(decoded)

    def _escape(self, pos: int, quote: str) -> tuple[str, int]:
        """Decode the Go escape sequence whose letter is at ``pos``."""
        text = self.text
        if pos >= len(text):
            raise self._error("escape sequence not terminated", pos)
        char = text[pos]
        if char == quote:
            return char, pos + 1
        if char in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[char], pos + 1
        if char in "01234567":
            digits = text[pos : pos + 3]
            if len(digits) < 3 or any(d not in "01234567" for d in digits) or int(digits, 8) > 255:
                raise self._error(f"invalid octal escape sequence \\{digits}", pos)
            return chr(int(digits, 8)), pos + 3
        if char in _HEX_ESCAPE_LENGTHS:
            digits = text[pos + 1 : pos + 1 + _HEX_ESCAPE_LENGTHS[char]]
            try:
                if len(digits) != _HEX_ESCAPE_LENGTHS[char]:
                    raise ValueError(digits)
                return chr(int(digits, 16)), pos + 1 + len(digits)
            except ValueError:
                raise self._error(f"invalid escape sequence \\{char}{digits}", pos) from None
        raise self._error(f"unknown escape sequence {char!r}", pos)
