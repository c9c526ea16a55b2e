"""What Go's standard library does to kpack's answers: ``strconv.ParseInt``, ``strconv.Quote`` and
``encoding/json`` over the Go types kpack reads and writes (its conversion annotations, the labels
of buildpack images).

kpack's answers are Go's: a build timeout or creation time is whatever ``strconv.ParseInt(s, 10,
64)`` accepts (:func:`parse_int64`), a name in a message is quoted by ``%q`` (:func:`quote`), and
an annotation kpack's conversion writes is ``json.Marshal`` of a typed value (:func:`encode` of
what :func:`decode` read, as text by :func:`dumps`):

* struct fields in declaration order; unknown keys dropped;
* ``omitempty`` fields left out when empty (``""``, ``0``, a nil pointer, an empty or nil slice
  or map; a struct is never empty), the other fields written even when absent in the input
  (``"topologyKey":""``, ``"weight":0``, ``"nodeSelectorTerms":null``);
* map keys sorted; no spaces; ``<``, ``>``, ``&``, U+2028 and U+2029 escaped as ``\\u003c`` …

Reading a value (:func:`decode`) is ``json.Unmarshal`` into a Go type (:class:`Scalar`,
:class:`Pointer`, :class:`Slice`, :class:`StringMap`, :class:`Struct`): a key matches a field by
name exactly or else as Go folds case, the last member for a field wins, ``null`` empties a
pointer, slice or map and leaves anything else as it was, and a value of the wrong JSON type, a
fraction or an integer out of range is an error (:class:`GoError`, which also carries Go's own
``json: cannot unmarshal …`` text). An object is a ``dict`` or, where repeated keys matter, an
:class:`Object` of its members. :func:`unmarshal` reads JSON text (Python's words for text that
is not JSON; :mod:`contracts.gojson` has Go's), :func:`canonical` is the value as Go would marshal
it back after reading it.

A Go value is represented as: ``str`` / ``int`` / ``bool`` for scalars, ``None`` for nil,
``list`` for a slice, ``dict`` for a map or a struct (a struct's dict holds every field).
:func:`omitempty` gives the keyword arguments of a model that Go's ``omitempty`` would write.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_DECIMAL = re.compile(r"[+-]?[0-9]+")
_HTML_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_SHORT_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


class GoError(ValueError):
    """Go would refuse the input: ``problem`` at ``path`` (empty for the value itself);
    ``go_text`` is Go's own message (the problem itself where Kiln words it as Go does)."""

    def __init__(self, problem: str, *, path: str = "", go_text: str = "") -> None:
        super().__init__(f"{path}: {problem}" if path else problem)
        self.problem = problem
        self.path = path
        self.go_text = go_text or problem


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
#
# ``name`` is the type as Go prints it in its errors (``reflect.Type.String()``); a slice or map
# without a name of its own is named after its element (``[]string``, ``map[string]string``).


@dataclass(frozen=True)
class Scalar:
    """A Go string, bool or signed integer of ``bits`` bits; ``kind`` is its Python type."""

    name: str
    kind: type[str | int] = str
    bits: int = 0


STRING = Scalar("string")
BOOL = Scalar("bool", bool)
INT32 = Scalar("int32", int, 32)
INT64 = Scalar("int64", int, 64)


@dataclass(frozen=True)
class Pointer:
    to: GoType
    name: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", "*" + self.to.name)


@dataclass(frozen=True)
class Slice:
    of: GoType
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self.name or "[]" + self.of.name)


@dataclass(frozen=True)
class StringMap:
    """``map[string]of`` (``map[string]string`` by default)."""

    of: GoType = STRING
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self.name or "map[string]" + self.of.name)


@dataclass(frozen=True)
class Field:
    """A struct field: its JSON key, its type, whether it is ``omitempty``, and the embedded struct
    it is promoted from (Go names it in a type error's field path)."""

    key: str
    type: GoType
    omitempty: bool = True
    embedded: str = ""


@dataclass(frozen=True)
class Struct:
    name: str
    fields: tuple[Field, ...] = ()


GoType = Scalar | Pointer | Slice | StringMap | Struct
STRINGS = Slice(STRING)


class Object(tuple[tuple[str, Any], ...]):
    """A JSON object as its members in document order, repeated keys kept
    (``json.loads(text, object_pairs_hook=Object)``), as Go's decoder meets them."""


def _strings(*keys: str, omitempty: bool = True) -> tuple[Field, ...]:
    return tuple(Field(key, STRING, omitempty) for key in keys)


OBJECT_REFERENCE = Struct(
    "v1.ObjectReference",
    _strings("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"),
)
TOLERATION = Struct(
    "v1.Toleration",
    (*_strings("key", "operator", "value", "effect"), Field("tolerationSeconds", Pointer(INT64))),
)
_NODE_SELECTOR_REQUIREMENT = Struct(
    "v1.NodeSelectorRequirement",
    (*_strings("key", "operator", omitempty=False), Field("values", Slice(STRING))),
)
_NODE_SELECTOR_TERM = Struct(
    "v1.NodeSelectorTerm",
    (
        Field("matchExpressions", Slice(_NODE_SELECTOR_REQUIREMENT)),
        Field("matchFields", Slice(_NODE_SELECTOR_REQUIREMENT)),
    ),
)
_LABEL_SELECTOR_REQUIREMENT = Struct(
    "v1.LabelSelectorRequirement",
    (*_strings("key", "operator", omitempty=False), Field("values", Slice(STRING))),
)
_LABEL_SELECTOR = Struct(
    "v1.LabelSelector",
    (Field("matchLabels", StringMap()), Field("matchExpressions", Slice(_LABEL_SELECTOR_REQUIREMENT))),
)
_POD_AFFINITY_TERM = Struct(
    "v1.PodAffinityTerm",
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
        "v1.WeightedPodAffinityTerm",
        (
            Field("weight", INT32, omitempty=False),
            Field("podAffinityTerm", _POD_AFFINITY_TERM, omitempty=False),
        ),
    )
    return Struct(name, (Field(_REQUIRED, Slice(_POD_AFFINITY_TERM)), Field(_PREFERRED, Slice(weighted))))


_NODE_AFFINITY = Struct(
    "v1.NodeAffinity",
    (
        Field(
            _REQUIRED,
            Pointer(
                Struct("v1.NodeSelector", (Field("nodeSelectorTerms", Slice(_NODE_SELECTOR_TERM), False),))
            ),
        ),
        Field(
            _PREFERRED,
            Slice(
                Struct(
                    "v1.PreferredSchedulingTerm",
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
    "v1.Affinity",
    (
        Field("nodeAffinity", Pointer(_NODE_AFFINITY)),
        Field("podAffinity", Pointer(_pod_affinity("v1.PodAffinity"))),
        Field("podAntiAffinity", Pointer(_pod_affinity("v1.PodAntiAffinity"))),
    ),
)
COSIGN_ANNOTATION = Struct("v1alpha2.CosignAnnotation", _strings("name", "value"))
LOCAL_OBJECT_REFERENCE = Struct("v1.LocalObjectReference", _strings("name"))
CNB_BINDING = Struct(
    "v1alpha1.CNBBinding",
    (
        Field("name", STRING),
        Field("metadataRef", Pointer(LOCAL_OBJECT_REFERENCE)),
        Field("secretRef", Pointer(LOCAL_OBJECT_REFERENCE)),
    ),
)
NOTARY_CONFIG = Struct(
    "v1alpha1.NotaryConfig",
    (
        Field(
            "v1",
            Pointer(
                Struct(
                    "v1alpha1.NotaryV1Config",
                    (
                        Field("url", STRING, omitempty=False),
                        Field(
                            "secretRef",
                            Struct("v1alpha1.NotarySecretRef", _strings("name", omitempty=False)),
                            False,
                        ),
                    ),
                )
            ),
        ),
    ),
)
COSIGN_CONFIG = Struct("v1alpha2.CosignConfig", (Field("annotations", Slice(COSIGN_ANNOTATION)),))


# Decoding and encoding --------------------------------------------------------------------------


@dataclass(frozen=True)
class _At:
    """Where the decoder is: Kiln's ``path`` (``spec.build.tolerations[0].key``), and Go's error
    context (the innermost struct entered and the field names from the top)."""

    path: str
    struct: str = ""
    fields: tuple[str, ...] = ()

    def index(self, i: int) -> _At:
        return _At(f"{self.path}[{i}]", self.struct, self.fields)

    def member(self, key: str) -> _At:
        return _At(f"{self.path}.{key}".lstrip("."), self.struct, self.fields)

    def field(self, struct: Struct, found: Field) -> _At:
        names = (*self.fields, *([found.embedded] if found.embedded else []), found.key)
        return _At(f"{self.path}.{found.key}".lstrip("."), struct.name.rpartition(".")[2], names)


def decode(go_type: GoType, value: Any, *, path: str = "") -> Any:
    """``value`` (as JSON or YAML parsing gives it) read into ``go_type``, as ``json.Unmarshal``:
    a struct as a dict of all its fields (zero values for the absent), a slice as a list, a map as
    a dict, ``None`` for a nil pointer, slice or map."""
    return _decode(go_type, value, current=_zero(go_type), at=_At(path))


def _decode(go_type: GoType, value: Any, *, current: Any, at: _At) -> Any:
    """``value`` decoded into ``current``, what the Go value holds so far."""
    if value is None:
        return None if isinstance(go_type, Pointer | Slice | StringMap) else current
    if isinstance(go_type, Pointer):
        return _decode(go_type.to, value, current=_zero(go_type.to) if current is None else current, at=at)
    if isinstance(go_type, Struct):
        return _decode_struct(go_type, _expect_object(value, go_type=go_type, at=at), current=current, at=at)
    if isinstance(go_type, Slice):
        if not isinstance(value, list):
            raise _type_error(value, go_type=go_type, at=at)
        return [
            _decode(go_type.of, item, current=_zero(go_type.of), at=at.index(i))
            for i, item in enumerate(value)
        ]
    if isinstance(go_type, StringMap):
        decoded = dict(current or {})
        for key, item in _members(_expect_object(value, go_type=go_type, at=at)):
            decoded[key] = _decode(go_type.of, item, current=_zero(go_type.of), at=at.member(key))
        return decoded
    return _decode_scalar(go_type, value, at=at)


def _decode_struct(go_type: Struct, value: Any, *, current: dict[str, Any], at: _At) -> dict[str, Any]:
    decoded = dict(current)
    by_key = {f.key: f for f in go_type.fields}
    by_folded = {_fold(f.key): f for f in go_type.fields}
    for key, item in _members(value):
        found = by_key.get(key) or by_folded.get(_fold(str(key)))
        if found is not None:
            decoded[found.key] = _decode(
                found.type, item, current=decoded[found.key], at=at.field(go_type, found)
            )
    return decoded


def _decode_scalar(go_type: Scalar, value: Any, *, at: _At) -> Any:
    if isinstance(value, bool) != (go_type.kind is bool) or not isinstance(value, go_type.kind):
        raise _type_error(value, go_type=go_type, at=at)
    if go_type.bits and not -(2 ** (go_type.bits - 1)) <= value < 2 ** (go_type.bits - 1):
        raise _type_error(
            value, go_type=go_type, at=at, problem=f"{value} is out of range for {go_type.name}"
        )
    return value


def lookup(value: Any, key: str) -> Any:
    """The member of a JSON object that Go reads into the struct field ``key`` (names match as Go
    folds case, the last match wins); None when there is none or ``value`` is no object."""
    found = None
    for name, item in value.items() if isinstance(value, dict) else ():
        if _fold(str(name)) == _fold(key):
            found = item
    return found


def _fold(key: str) -> str:
    """Go's ``foldName`` as far as it can make a key equal an ASCII field name: ASCII letters in
    one case, the Kelvin sign as K, the long s as S."""
    folded = "".join(c.upper() if c.isascii() else c for c in key)
    return folded.replace("\u212a", "K").replace("\u017f", "S")


def _members(value: dict[str, Any] | Object) -> Iterable[tuple[str, Any]]:
    return value.items() if isinstance(value, dict) else value


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


def _is_empty(go_type: GoType, value: Any) -> bool:
    """Go's ``omitempty`` test (a struct, held as a dict of all its fields, is never empty)."""
    if isinstance(go_type, Pointer):
        return value is None
    return not value


def omitempty(**fields: Any) -> dict[str, Any]:
    """The ``fields`` Go's ``omitempty`` writes: those whose value is not empty (``""``, ``0``,
    ``False``, ``None``, an empty list or dict). Given to a model as keyword arguments, only they
    count as set, so kpack's empty fields stay out of what it dumps."""
    return {key: value for key, value in fields.items() if value}


def _zero(go_type: GoType) -> Any:
    if isinstance(go_type, Struct):
        return {f.key: _zero(f.type) for f in go_type.fields}
    return go_type.kind() if isinstance(go_type, Scalar) else None


def _expect_object(value: Any, *, go_type: Struct | StringMap, at: _At) -> dict[str, Any] | Object:
    if not isinstance(value, dict | Object):
        raise _type_error(value, go_type=go_type, at=at)
    return value


def _type_error(
    value: Any, *, go_type: Scalar | Slice | StringMap | Struct, at: _At, problem: str = ""
) -> GoError:
    """Kiln's words for a value ``go_type`` cannot hold, with Go's ``UnmarshalTypeError`` text
    (which gives a number's value when an integer cannot hold it, here as Python writes it)."""
    got, kiln_got = next(
        ((go, kiln) for kind, go, kiln in _JSON_KINDS if isinstance(value, kind)), (type(value).__name__,) * 2
    )
    if got == "number" and isinstance(go_type, Scalar) and go_type.bits:
        got = f"number {value}"
    into = f"Go struct field {at.struct}.{'.'.join(at.fields)}" if at.struct else "Go value"
    go_text = f"json: cannot unmarshal {got} into {into} of type {go_type.name}"
    return GoError(problem or f"expected {_describe(go_type)}, got {kiln_got}", path=at.path, go_text=go_text)


_JSON_KINDS: tuple[tuple[type | tuple[type, ...], str, str], ...] = (
    ((dict, Object), "object", "an object"),
    (list, "array", "a list"),
    (bool, "bool", "a boolean"),
    (str, "string", "a string"),
    ((int, float), "number", "a number"),
)
"""A JSON value's kind as Go's type errors name it, and in Kiln's words."""


def _describe(go_type: Scalar | Slice | StringMap | Struct) -> str:
    if isinstance(go_type, Scalar):
        return {str: "a string", bool: "a boolean", int: "an integer"}[go_type.kind]
    return "a list" if isinstance(go_type, Slice) else "an object"
