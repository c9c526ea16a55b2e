"""What Go's standard library does to kpack's answers: ``strconv.ParseInt``, ``strconv.Quote`` and
``encoding/json`` over the Kubernetes types kpack writes into its conversion annotations.

kpack's answers are Go's: a build timeout or creation time is whatever ``strconv.ParseInt(s, 10,
64)`` accepts (:func:`parse_int64`), a name in a message is quoted by ``%q`` (:func:`quote`), and
an annotation kpack's conversion writes is ``json.Marshal`` of a typed value (:func:`encode` of
what :func:`decode` read, as text by :func:`dumps`):

* struct fields in declaration order; unknown keys dropped;
* ``omitempty`` fields left out when empty (``""``, ``0``, a nil pointer, an empty or nil slice
  or map; a struct is never empty), the other fields written even when absent in the input
  (``"topologyKey":""``, ``"weight":0``, ``"nodeSelectorTerms":null``);
* map keys sorted; no spaces; ``<``, ``>``, ``&``, U+2028 and U+2029 escaped as ``\\u003c`` …

Reading one back (:func:`unmarshal`) is ``json.Unmarshal``: keys match field names exactly or
else case-insensitively, ``null`` leaves a string, number or struct at its zero value, and a value
of the wrong JSON type, a fraction or an integer out of range is an error (:class:`GoError`).
:func:`canonical` is the value as Go would marshal it back after reading it.

A Go value is represented as: ``str`` / ``int`` for scalars, ``None`` for nil, ``list`` for a
slice, ``dict`` for a map or a struct (a struct's dict holds every field).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_DECIMAL = re.compile(r"[+-]?[0-9]+")
_HTML_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_SHORT_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


class GoError(ValueError):
    """Go would refuse the input: ``problem`` at ``path`` (empty for the value itself)."""

    def __init__(self, problem: str, *, path: str = "") -> None:
        super().__init__(f"{path}: {problem}" if path else problem)
        self.problem = problem
        self.path = path


def parse_int64(text: str) -> int:
    """``strconv.ParseInt(text, 10, 64)``: an optional sign and decimal digits only, in int64."""
    if not _DECIMAL.fullmatch(text):
        raise GoError(f"strconv.ParseInt: parsing {quote(text)}: invalid syntax")
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise GoError(f"strconv.ParseInt: parsing {quote(text)}: value out of range")
    return value


def quote(text: str) -> str:
    """``strconv.Quote`` (``%q``): printable characters as they are, the rest escaped."""
    out = []
    for char in text:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[char])
        elif char == " " or char.isprintable():
            out.append(char)
        elif ord(char) < 0x80:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return '"' + "".join(out) + '"'


# Types ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scalar:
    """A Go string (``bits`` 0) or signed integer of ``bits`` bits."""

    name: str
    bits: int = 0


@dataclass(frozen=True)
class Pointer:
    to: GoType


@dataclass(frozen=True)
class Slice:
    of: GoType


@dataclass(frozen=True)
class StringMap:
    """``map[string]string``."""


@dataclass(frozen=True)
class Field:
    key: str
    type: GoType
    omitempty: bool = True


@dataclass(frozen=True)
class Struct:
    name: str
    fields: tuple[Field, ...]


GoType = Scalar | Pointer | Slice | StringMap | Struct

STRING = Scalar("string")
INT32 = Scalar("int32", 32)
INT64 = Scalar("int64", 64)


def _strings(*keys: str, omitempty: bool = True) -> tuple[Field, ...]:
    return tuple(Field(key, STRING, omitempty) for key in keys)


OBJECT_REFERENCE = Struct(
    "ObjectReference",
    _strings("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"),
)
TOLERATION = Struct(
    "Toleration",
    (*_strings("key", "operator", "value", "effect"), Field("tolerationSeconds", Pointer(INT64))),
)
_NODE_SELECTOR_REQUIREMENT = Struct(
    "NodeSelectorRequirement",
    (*_strings("key", "operator", omitempty=False), Field("values", Slice(STRING))),
)
_NODE_SELECTOR_TERM = Struct(
    "NodeSelectorTerm",
    (
        Field("matchExpressions", Slice(_NODE_SELECTOR_REQUIREMENT)),
        Field("matchFields", Slice(_NODE_SELECTOR_REQUIREMENT)),
    ),
)
_LABEL_SELECTOR_REQUIREMENT = Struct(
    "LabelSelectorRequirement",
    (*_strings("key", "operator", omitempty=False), Field("values", Slice(STRING))),
)
_LABEL_SELECTOR = Struct(
    "LabelSelector",
    (Field("matchLabels", StringMap()), Field("matchExpressions", Slice(_LABEL_SELECTOR_REQUIREMENT))),
)
_POD_AFFINITY_TERM = Struct(
    "PodAffinityTerm",
    (
        Field("labelSelector", Pointer(_LABEL_SELECTOR)),
        Field("namespaces", Slice(STRING)),
        Field("topologyKey", STRING, omitempty=False),
        Field("namespaceSelector", Pointer(_LABEL_SELECTOR)),
        Field("matchLabelKeys", Slice(STRING)),
        Field("mismatchLabelKeys", Slice(STRING)),
    ),
)
_REQUIRED = "requiredDuringSchedulingIgnoredDuringExecution"
_PREFERRED = "preferredDuringSchedulingIgnoredDuringExecution"


def _pod_affinity(name: str) -> Struct:
    weighted = Struct(
        "WeightedPodAffinityTerm",
        (
            Field("weight", INT32, omitempty=False),
            Field("podAffinityTerm", _POD_AFFINITY_TERM, omitempty=False),
        ),
    )
    return Struct(name, (Field(_REQUIRED, Slice(_POD_AFFINITY_TERM)), Field(_PREFERRED, Slice(weighted))))


_NODE_AFFINITY = Struct(
    "NodeAffinity",
    (
        Field(
            _REQUIRED,
            Pointer(Struct("NodeSelector", (Field("nodeSelectorTerms", Slice(_NODE_SELECTOR_TERM), False),))),
        ),
        Field(
            _PREFERRED,
            Slice(
                Struct(
                    "PreferredSchedulingTerm",
                    (
                        Field("weight", INT32, omitempty=False),
                        Field("preference", _NODE_SELECTOR_TERM, omitempty=False),
                    ),
                )
            ),
        ),
    ),
)
AFFINITY = Struct(
    "Affinity",
    (
        Field("nodeAffinity", Pointer(_NODE_AFFINITY)),
        Field("podAffinity", Pointer(_pod_affinity("PodAffinity"))),
        Field("podAntiAffinity", Pointer(_pod_affinity("PodAntiAffinity"))),
    ),
)
COSIGN_ANNOTATION = Struct("CosignAnnotation", _strings("name", "value"))
LOCAL_OBJECT_REFERENCE = Struct("LocalObjectReference", _strings("name"))
CNB_BINDING = Struct(
    "CNBBinding",
    (
        Field("name", STRING),
        Field("metadataRef", Pointer(LOCAL_OBJECT_REFERENCE)),
        Field("secretRef", Pointer(LOCAL_OBJECT_REFERENCE)),
    ),
)
NOTARY_CONFIG = Struct(
    "NotaryConfig",
    (
        Field(
            "v1",
            Pointer(
                Struct(
                    "NotaryV1Config",
                    (
                        Field("url", STRING, omitempty=False),
                        Field(
                            "secretRef", Struct("NotarySecretRef", _strings("name", omitempty=False)), False
                        ),
                    ),
                )
            ),
        ),
    ),
)
COSIGN_CONFIG = Struct("CosignConfig", (Field("annotations", Slice(COSIGN_ANNOTATION)),))


# Decoding and encoding --------------------------------------------------------------------------


def decode(go_type: GoType, value: Any, *, path: str = "") -> Any:
    """``value`` (as JSON or YAML parsing gives it) read into ``go_type``, as ``json.Unmarshal``."""
    if isinstance(go_type, Pointer):
        return None if value is None else decode(go_type.to, value, path=path)
    if isinstance(go_type, Struct):
        return _decode_struct(go_type, value, path=path)
    if isinstance(go_type, Slice):
        if value is None:
            return None
        items = _expect(value, list, go_type=go_type, path=path)
        return [decode(go_type.of, item, path=f"{path}[{i}]") for i, item in enumerate(items)]
    if isinstance(go_type, StringMap):
        if value is None:
            return None
        entries = _expect(value, dict, go_type=go_type, path=path)
        return {k: decode(STRING, v, path=f"{path}.{k}".lstrip(".")) for k, v in entries.items()}
    return _decode_scalar(go_type, value, path=path)


def _decode_struct(go_type: Struct, value: Any, *, path: str) -> dict[str, Any]:
    decoded = {f.key: _zero(f.type) for f in go_type.fields}
    if value is None:
        return decoded
    fields = {f.key.lower(): f for f in go_type.fields}
    for key, item in _expect(value, dict, go_type=go_type, path=path).items():
        found = fields.get(str(key).lower())
        if found is not None:
            decoded[found.key] = decode(found.type, item, path=f"{path}.{found.key}".lstrip("."))
    return decoded


def lookup(value: Any, key: str) -> Any:
    """The member of a JSON object that Go reads into the struct field ``key`` (names match
    case-insensitively, the last match wins); None when there is none or ``value`` is no object."""
    found = None
    for name, item in value.items() if isinstance(value, dict) else ():
        if str(name).lower() == key.lower():
            found = item
    return found


def _decode_scalar(go_type: Scalar, value: Any, *, path: str) -> Any:
    if value is None:
        return _zero(go_type)
    if not go_type.bits:
        return _expect(value, str, go_type=go_type, path=path)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _mismatch(value, go_type=go_type, path=path)
    if not -(2 ** (go_type.bits - 1)) <= value < 2 ** (go_type.bits - 1):
        raise GoError(f"{value} is out of range for {go_type.name}", path=path)
    return value


def encode(go_type: GoType, value: Any) -> Any:
    """A decoded Go value as ``json.Marshal`` writes it (a JSON-ready Python value)."""
    if value is None:
        return None
    if isinstance(go_type, Pointer):
        return encode(go_type.to, value)
    if isinstance(go_type, Struct):
        return {
            f.key: encode(f.type, value[f.key])
            for f in go_type.fields
            if not (f.omitempty and _is_empty(f.type, value[f.key]))
        }
    if isinstance(go_type, Slice):
        return [encode(go_type.of, item) for item in value]
    if isinstance(go_type, StringMap):
        return dict(sorted(value.items()))
    return value


def canonical(go_type: GoType, value: Any) -> Any:
    """``value`` read into ``go_type`` and written back: what kpack holds after reading it."""
    return encode(go_type, decode(go_type, value))


def dumps(value: Any) -> str:
    """Go's compact JSON text of a JSON-ready value (already in Go's key order)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return re.sub("[<>&\u2028\u2029]", lambda m: _HTML_UNSAFE[m.group()], text)


def unmarshal(go_type: GoType, text: str) -> Any:
    """``json.Unmarshal`` of ``text`` into ``go_type``, as the canonical JSON-ready value."""
    try:
        parsed = json.loads(text, parse_constant=_refuse_constant)
    except ValueError as e:
        raise GoError(f"invalid JSON: {e}") from e
    return canonical(go_type, parsed)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"invalid character {name[0]!r} looking for beginning of value")


def _zero(go_type: GoType) -> Any:
    if isinstance(go_type, Struct):
        return {f.key: _zero(f.type) for f in go_type.fields}
    if isinstance(go_type, Scalar):
        return 0 if go_type.bits else ""
    return None


def _is_empty(go_type: GoType, value: Any) -> bool:
    """Go's ``omitempty`` test (a struct, held as a dict of all its fields, is never empty)."""
    if isinstance(go_type, Pointer):
        return value is None
    return not value


def _expect(value: Any, kind: type, *, go_type: GoType, path: str) -> Any:
    if not isinstance(value, kind):
        raise _mismatch(value, go_type=go_type, path=path)
    return value


def _mismatch(value: Any, *, go_type: GoType, path: str) -> GoError:
    names = {str: "a string", bool: "a boolean", int: "a number", float: "a number", list: "a list"}
    got = names.get(type(value), "an object" if isinstance(value, dict) else type(value).__name__)
    return GoError(f"expected {_describe(go_type)}, got {got}", path=path)


def _describe(go_type: GoType) -> str:
    if isinstance(go_type, Slice):
        return "a list"
    if isinstance(go_type, StringMap | Struct):
        return "an object"
    return "a string" if isinstance(go_type, Scalar) and not go_type.bits else "an integer"
