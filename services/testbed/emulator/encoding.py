"""JSON in and out of the emulator, and the encodings of the objects written last, shared.

Encoding was the emulator's largest cost: every write was encoded once for its answer and once
more for every open watch it reached (three or four at a time in the sandbox: the bridge, the
simulated kubelet, a bench clock). `Encodings` keeps the bytes of the objects served last, by
identity (stored objects are never changed in place, so an object's bytes never go stale), so a
write is encoded once for its answer and all its watch events.

`dumps` and `loads` use ``orjson`` when it is installed (several times faster) and the standard
library otherwise; a value ``orjson`` refuses (a non-string key, an integer past 64 bits, a
datetime) or a body it cannot read goes to the standard library, which answers as before. What
still differs is outside JSON or Kubernetes: NaN is written as ``null``, and an integer past 64
bits is read as a float.
"""

from __future__ import annotations

import collections
import importlib
import json
from types import ModuleType
from typing import Any, TypeVar, cast

Obj = dict[str, Any]
T = TypeVar("T")


def _orjson() -> ModuleType | None:
    try:
        return importlib.import_module("orjson")
    except ImportError:  # pragma: no cover - depends on the machine
        return None


_FAST = _orjson()
_FAST_OPTIONS = (_FAST.OPT_PASSTHROUGH_DATETIME | _FAST.OPT_PASSTHROUGH_DATACLASS) if _FAST else 0
"""What the standard library cannot encode, ``orjson`` must not encode either: it is handed back."""


def dumps(value: Any) -> bytes:
    """``value`` as compact JSON; TypeError for what is not JSON data."""
    if _FAST is not None:
        try:
            return cast(bytes, _FAST.dumps(value, option=_FAST_OPTIONS))
        except TypeError:
            pass
    return json.dumps(value, separators=(",", ":")).encode()


def loads(data: bytes | str) -> Any:
    """The value of JSON ``data``; the standard library's ValueError when it is not JSON."""
    if _FAST is not None:
        try:
            return _FAST.loads(data)
        except ValueError:
            pass
    return json.loads(data)


def copy_of(value: T) -> T:
    """A deep copy of JSON data (what a client would decode from it)."""
    return cast(T, loads(dumps(value)))


class Encodings:
    """The JSON of the last ``size`` objects served, as ``apiVersion`` asked for; touched only on
    the emulator's loop."""

    def __init__(self, size: int = 512) -> None:
        self._size = size
        self._recent: collections.OrderedDict[tuple[int, str], tuple[Obj, bytes]] = collections.OrderedDict()

    def object(self, obj: Obj, api_version: str) -> bytes:
        """``obj`` with ``apiVersion`` set to ``api_version``, as JSON."""
        key = (id(obj), api_version)
        found = self._recent.get(key)
        if found is not None and found[0] is obj:
            self._recent.move_to_end(key)
            return found[1]
        data = dumps({**obj, "apiVersion": api_version})
        self._recent[key] = (obj, data)
        if len(self._recent) > self._size:
            self._recent.popitem(last=False)
        return data

    def event(self, kind: str, obj: Obj, api_version: str) -> bytes:
        """One line of a watch stream: ``{"type": kind, "object": obj}``."""
        return b'{"type":' + dumps(kind) + b',"object":' + self.object(obj, api_version) + b"}\n"
