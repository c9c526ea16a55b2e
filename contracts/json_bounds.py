"""JSON from outside, bounded in size and nesting depth before it is parsed.

Python's ``json`` parser recurses once per nesting level, so a body of ten thousand ``[`` raises
``RecursionError`` instead of a ``ValueError``; and an integer of more than
``sys.get_int_max_str_digits()`` digits raises a plain ``ValueError``. :func:`loads` refuses
both, and a document over ``max_bytes``, with a :class:`BoundsError` naming the limit, so that
every caller (the webhook routes, the event consumer) answers them as the bad input they are.
Errors::

    BoundsError (ValueError)
    ├── TooLargeError   more than ``max_bytes`` bytes
    └── TooDeepError    arrays and objects nested more than ``max_depth`` levels

Malformed JSON still raises ``json.JSONDecodeError`` and bytes that are not UTF-8
``UnicodeDecodeError``, as ``json.loads`` does; the callers already name those.

Pure: no I/O.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64
"""Deepest nesting accepted: webhook bodies and events are nested a handful of levels deep."""
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]')
"""A JSON string (skipped whole, so brackets inside it do not count) or a bracket."""


class BoundsError(ValueError):
    """A JSON document over one of the bounds; the message names it (without the field)."""


class TooLargeError(BoundsError):
    """The document is larger than ``max_bytes``."""


class TooDeepError(BoundsError):
    """Arrays and objects are nested deeper than ``max_depth``."""


def loads(document: str | bytes, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads(document)`` once the document is known to be within both bounds."""
    size = len(document) if isinstance(document, bytes) else len(document.encode())
    if size > max_bytes:
        raise TooLargeError(f"{size} bytes, more than the {max_bytes} accepted")
    text = document.decode() if isinstance(document, bytes) else document
    if depth(text, limit=max_depth) > max_depth:
        raise TooDeepError(f"arrays and objects nested more than {max_depth} levels deep")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except ValueError as e:  # an integer longer than the interpreter converts
        raise BoundsError(f"a number too long to convert ({e})") from e


def depth(text: str, *, limit: int) -> int:
    """How deeply arrays and objects nest in ``text``; counting stops once it exceeds ``limit``."""
    level = deepest = 0
    for token in _TOKENS.finditer(text):
        bracket = token.group()
        if bracket in ("[", "{"):
            level += 1
            deepest = max(deepest, level)
            if deepest > limit:
                break
        elif bracket in ("]", "}"):
            level -= 1
    return deepest
