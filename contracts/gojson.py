"""Go's ``encoding/json`` reading text to the letter of its errors (kpack's labels are read so):
:func:`unmarshal` is ``json.Unmarshal(text, &v)`` for ``v`` of a :mod:`contracts.golang` type.

Text that is not JSON fails with the message of Go's ``SyntaxError`` (:func:`syntax_error`, Go's
scanner as a state machine: ``invalid character 'x' looking for beginning of value``, ``unexpected
end of JSON input`` …); JSON that does not fit the type fails with Go's ``UnmarshalTypeError``
text (``json: cannot unmarshal number into Go struct field BuildpackLayerInfo.api of type
string``), the first in document order. Repeated keys are read in order, as Go does.

Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from contracts import golang


def unmarshal(go_type: golang.GoType, text: str) -> Any:
    """``text`` decoded into ``go_type`` (:func:`contracts.golang.decode`'s value); raise
    :class:`~contracts.golang.GoError` with Go's message."""
    problem = syntax_error(text.encode())
    if problem:
        raise golang.GoError(problem)
    try:
        value = json.loads(text, object_pairs_hook=golang.Object)
        return golang.decode(go_type, value)
    except RecursionError as e:  # Go's limit is 10000 levels, Python's is lower
        raise golang.GoError("exceeded max depth") from e
    except golang.GoError as e:
        raise golang.GoError(e.go_text) from e


# Go's JSON scanner (encoding/json scanner.go) ---------------------------------------------------

_SPACE = frozenset(b" \t\r\n")
_DIGITS = frozenset(b"0123456789")
_HEX = frozenset(b"0123456789abcdefABCDEF")
_MAX_DEPTH = 10000


class _SyntaxProblem(Exception):
    pass


def syntax_error(data: bytes) -> str:
    """Go's ``checkValid``: ``""`` for valid JSON, else the message of its ``SyntaxError``."""
    scanner = _Scanner()
    try:
        for byte in data:
            scanner.step(byte)
        scanner.eof()
    except _SyntaxProblem as problem:
        return str(problem)
    return ""


def _quote_char(c: int) -> str:
    if c == ord("'"):
        return "'\\''"
    if c == ord('"'):
        return "'\"'"
    return "'" + golang.quote(chr(c))[1:-1] + "'"


class _Scanner:
    """Go's scanner as a state machine over bytes; ``step`` is the current state."""

    def __init__(self) -> None:
        self.step: Callable[[int], None] = self.begin_value
        self.stack: list[str] = []  # "key", "value" (in an object) or "array"
        self.end_top = False

    def error(self, c: int, context: str) -> None:
        raise _SyntaxProblem(f"invalid character {_quote_char(c)} {context}")

    def eof(self) -> None:
        if not self.end_top:
            self.step(ord(" "))
        if not self.end_top:
            raise _SyntaxProblem("unexpected end of JSON input")

    def push(self, c: int, state: str) -> None:
        self.stack.append(state)
        if len(self.stack) > _MAX_DEPTH:
            self.error(c, "exceeded max depth")

    def begin_value_or_empty(self, c: int) -> None:
        if c in _SPACE:
            return
        if c == ord("]"):
            self.end_value(c)
            return
        self.begin_value(c)

    def begin_value(self, c: int) -> None:
        if c in _SPACE:
            return
        starts: dict[int, Callable[[int], None]] = {
            ord("{"): self.begin_string_or_empty,
            ord("["): self.begin_value_or_empty,
            ord('"'): self.in_string,
            ord("-"): self.negative,
            ord("0"): self.zero,
            ord("t"): self.literal("true"),
            ord("f"): self.literal("false"),
            ord("n"): self.literal("null"),
        }
        if c in starts:
            self.step = starts[c]
            if c in b"{[":
                self.push(c, "key" if c == ord("{") else "array")
        elif c in b"123456789":
            self.step = self.number
        else:
            self.error(c, "looking for beginning of value")

    def begin_string_or_empty(self, c: int) -> None:
        if c in _SPACE:
            return
        if c == ord("}"):
            self.stack[-1] = "value"
            self.end_value(c)
            return
        self.begin_string(c)

    def begin_string(self, c: int) -> None:
        if c in _SPACE:
            return
        if c != ord('"'):
            self.error(c, "looking for beginning of object key string")
        self.step = self.in_string

    def end_value(self, c: int) -> None:
        if not self.stack:
            self.step, self.end_top = self.end_top_value, True
            self.end_top_value(c)
            return
        self.step = self.end_value
        if c in _SPACE:
            return
        state = self.stack[-1]
        if state == "key" and c == ord(":"):
            self.stack[-1], self.step = "value", self.begin_value
        elif state != "key" and c == ord(","):
            self.stack[-1] = "key" if state == "value" else state
            self.step = self.begin_string if state == "value" else self.begin_value
        elif (state, c) in (("value", ord("}")), ("array", ord("]"))):
            self.stack.pop()
            if not self.stack:
                self.step, self.end_top = self.end_top_value, True
        else:
            contexts = {
                "key": "after object key",
                "value": "after object key:value pair",
                "array": "after array element",
            }
            self.error(c, contexts[state])

    def end_top_value(self, c: int) -> None:
        if c not in _SPACE:
            self.error(c, "after top-level value")

    def in_string(self, c: int) -> None:
        if c == ord('"'):
            self.step = self.end_value
        elif c == ord("\\"):
            self.step = self.in_string_escape
        elif c < 0x20:
            self.error(c, "in string literal")

    def in_string_escape(self, c: int) -> None:
        if c in b'bfnrt\\/"':
            self.step = self.in_string
        elif c == ord("u"):
            self.step = self.unicode_escape(4)
        else:
            self.error(c, "in string escape code")

    def unicode_escape(self, left: int) -> Callable[[int], None]:
        def state(c: int) -> None:
            if c not in _HEX:
                self.error(c, "in \\u hexadecimal character escape")
            self.step = self.in_string if left == 1 else self.unicode_escape(left - 1)

        return state

    def literal(self, word: str, at: int = 1) -> Callable[[int], None]:
        def state(c: int) -> None:
            if c != ord(word[at]):
                self.error(c, f"in literal {word} (expecting {_quote_char(ord(word[at]))})")
            self.step = self.end_value if at == len(word) - 1 else self.literal(word, at + 1)

        return state

    def negative(self, c: int) -> None:
        if c == ord("0"):
            self.step = self.zero
        elif c in _DIGITS:
            self.step = self.number
        else:
            self.error(c, "in numeric literal")

    def number(self, c: int) -> None:
        if c not in _DIGITS:
            self.zero(c)

    def zero(self, c: int) -> None:
        if c == ord("."):
            self.step = self.digit("after decimal point in numeric literal", then=self.fraction)
        elif c in b"eE":
            self.step = self.exponent_sign
        else:
            self.end_value(c)

    def fraction(self, c: int) -> None:
        if c in b"eE":
            self.step = self.exponent_sign
        elif c not in _DIGITS:
            self.end_value(c)

    def exponent_sign(self, c: int) -> None:
        exponent_start = self.digit("in exponent of numeric literal", then=self.exponent)
        if c in b"+-":
            self.step = exponent_start
        else:
            exponent_start(c)

    def digit(self, context: str, *, then: Callable[[int], None]) -> Callable[[int], None]:
        """The state that needs a digit (else ``invalid character … <context>``), then is ``then``."""

        def state(c: int) -> None:
            if c not in _DIGITS:
                self.error(c, context)
            self.step = then

        return state

    def exponent(self, c: int) -> None:
        if c not in _DIGITS:
            self.end_value(c)
