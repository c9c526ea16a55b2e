"""ClusterStores, Buildpacks and ClusterBuildpacks read from their buildpackage images (spec §2.2;
kpack ``pkg/cnb/remote_store_reader.go``), and image labels read as kpack reads them.

A buildpackage image lists its buildpacks in the required label ``io.buildpacks.buildpack.layers``
(``{id: {version: {api, layerDiffID, order?, stacks?, homepage?}}}``) and describes itself in the
optional label ``io.buildpacks.buildpackage.metadata``. :func:`read_buildpackage` turns one image
into one :class:`~contracts.buildpacks.BuildpackStatus` per (id, version), each with its layer's
compressed digest and size found through the config's ``rootfs.diff_ids``;
:func:`store_buildpacks` merges the images of a store into its ``status.buildpacks``.

Labels (:func:`string_label`, :func:`json_label`) are read as kpack's ``imagehelpers`` does: a
missing label is ``could not find label <key>``, and a JSON label is Go's ``json.Unmarshal`` into
kpack's Go type (:class:`GoType`), with Go's error text for text that is not JSON or does not fit
the type (``invalid character 'x' looking for beginning of value``, ``json: cannot unmarshal
string into Go struct field BuildpackLayerInfo.api of type string`` …), keys matched
case-insensitively and unknown keys ignored.

Pure: no I/O. Every failure is a :class:`~services.builder.problems.BuilderProblem` with kpack's
message.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from contracts import buildpacks, golang, oci
from services.builder.problems import BuilderProblem

LAYERS_LABEL = "io.buildpacks.buildpack.layers"
BUILDPACKAGE_LABEL = "io.buildpacks.buildpackage.metadata"


def read_buildpackage(source_image: str, image: oci.RemoteImage) -> list[buildpacks.BuildpackStatus]:
    """Every buildpack in the buildpackage ``image``, fetched by the string ``source_image`` (kept
    as ``storeImage.image``), sorted by ``id@version``; raise :class:`BuilderProblem` with kpack's
    message when a label is missing or malformed or a layer is not in the image."""
    package = buildpacks.BuildpackageInfo()
    if BUILDPACKAGE_LABEL in image.labels:
        found = json_label(image, key=BUILDPACKAGE_LABEL, go_type=BUILDPACKAGE_METADATA)
        package = buildpacks.BuildpackageInfo(**_given(**found))
    layers = json_label(image, key=LAYERS_LABEL, go_type=BUILDPACK_LAYER_METADATA) or {}
    entries = [
        (bp_id, version, info)
        for bp_id, versions in layers.items()
        for version, info in (versions or {}).items()
    ]
    statuses = [
        _status(bp_id, version, info, package=package, source_image=source_image, image=image)
        for bp_id, version, info in sorted(entries, key=lambda entry: f"{entry[0]}@{entry[1]}")
    ]
    return store_buildpacks([statuses])


def store_buildpacks(found: list[list[buildpacks.BuildpackStatus]]) -> list[buildpacks.BuildpackStatus]:
    """The buildpacks of all of a store's images as its status lists them: sorted by ``id@version``,
    then by ``storeImage.image``; duplicates are kept."""
    merged = [status for image in found for status in image]
    return sorted(merged, key=lambda status: (str(status), status.store_image.image))


def _status(
    bp_id: str,
    version: str,
    info: dict[str, Any],
    *,
    package: buildpacks.BuildpackageInfo,
    source_image: str,
    image: oci.RemoteImage,
) -> buildpacks.BuildpackStatus:
    name = f"{bp_id}@{version}"
    layer = _layer(info["layerDiffID"], name=name, image=image)
    return buildpacks.BuildpackStatus(
        id=bp_id,
        buildpackage=package,
        store_image=buildpacks.ImageSource(**_given(image=source_image)),
        **_given(
            version=version,
            diff_id=info["layerDiffID"],
            digest=layer.digest,
            size=layer.size,
            api=info["api"],
            homepage=info["homepage"],
            order=[_order_entry(entry) for entry in info["order"] or []] or None,
            stacks=[_stack(stack) for stack in info["stacks"] or []] or None,
        ),
    )


def _order_entry(entry: dict[str, Any]) -> buildpacks.OrderEntry:
    group = [
        buildpacks.BuildpackRef(id=ref["id"], **_given(version=ref["version"], optional=ref["optional"]))
        for ref in entry["group"] or []
    ]
    return buildpacks.OrderEntry(**_given(group=group))


def _stack(stack: dict[str, Any]) -> buildpacks.BuildpackStack:
    return buildpacks.BuildpackStack(id=stack["id"], **_given(mixins=stack["mixins"]))


def _given(**fields: Any) -> dict[str, Any]:
    """The fields with a value: kpack leaves the others out (``omitempty``)."""
    return {key: value for key, value in fields.items() if value}


# Layers -----------------------------------------------------------------------------------------


def _layer(diff_id: str, *, name: str, image: oci.RemoteImage) -> oci.Descriptor:
    """The manifest layer whose config ``rootfs.diff_ids`` entry is ``diff_id`` (go-containerregistry's
    ``LayerByDiffID``), with the size of the first layer of that digest."""
    problem = _hash_problem(diff_id)
    if problem:
        raise BuilderProblem(f"unable to parse layer diffId for {name}: {problem}")
    if len(image.layers) != len(image.diff_ids):
        mismatch = f"mismatched fs layers ({len(image.layers)}) and diff ids ({len(image.diff_ids)})"
        raise BuilderProblem(f"unable to get layer {name}: {mismatch}")
    if diff_id not in image.diff_ids:
        raise BuilderProblem(f"unable to get layer {name}: unknown diffID {diff_id}")
    digest = image.layers[image.diff_ids.index(diff_id)].digest
    return next(layer for layer in image.layers if layer.digest == digest)


def _hash_problem(text: str) -> str:
    """go-containerregistry's ``v1.NewHash`` error for ``text``, or ``""`` when it parses."""
    parts = text.split(":")
    if len(parts) != 2:
        return f"cannot parse hash: {golang.quote(text)}"
    rest = parts[1].lstrip("0123456789abcdef")
    if rest:
        return f"found non-hex character in hash: {chr(rest.encode()[0])}"
    if parts[0] != "sha256":
        return f"unsupported hash: {golang.quote(parts[0])}"
    if len(parts[1]) != 64:
        return f"wrong number of hex digits for {parts[0]}: {parts[1]}"
    return ""


# Labels as kpack reads them ---------------------------------------------------------------------


@dataclass(frozen=True)
class GoField:
    """A field of a Go struct: its JSON key, its type, and the embedded struct it is promoted from."""

    key: str
    type: GoType
    embedded: str = ""


@dataclass(frozen=True)
class GoType:
    """A Go type as ``encoding/json`` decodes into it: ``kind`` is ``string``, ``bool``, ``slice``,
    ``map`` (string keys) or ``struct``; ``name`` is ``reflect.Type.String()``."""

    name: str
    kind: str
    of: GoType | None = None
    fields: tuple[GoField, ...] = ()


STRING = GoType("string", "string")
BOOL = GoType("bool", "bool")
STRINGS = GoType("[]string", "slice", STRING)
_BUILDPACK_REF = GoType(
    "v1alpha1.BuildpackRef",
    "struct",
    fields=(
        GoField("id", STRING, "BuildpackInfo"),
        GoField("version", STRING, "BuildpackInfo"),
        GoField("optional", BOOL),
    ),
)
_ORDER_ENTRY = GoType(
    "v1alpha1.OrderEntry",
    "struct",
    fields=(GoField("group", GoType("[]v1alpha1.BuildpackRef", "slice", _BUILDPACK_REF)),),
)
_BUILDPACK_STACK = GoType(
    "v1alpha1.BuildpackStack", "struct", fields=(GoField("id", STRING), GoField("mixins", STRINGS))
)
_LAYER_INFO = GoType(
    "cnb.BuildpackLayerInfo",
    "struct",
    fields=(
        GoField("api", STRING),
        GoField("layerDiffID", STRING),
        GoField("order", GoType("v1alpha1.Order", "slice", _ORDER_ENTRY)),
        GoField("stacks", GoType("[]v1alpha1.BuildpackStack", "slice", _BUILDPACK_STACK)),
        GoField("homepage", STRING),
    ),
)
BUILDPACK_LAYER_METADATA = GoType(
    "cnb.BuildpackLayerMetadata", "map", GoType("map[string]cnb.BuildpackLayerInfo", "map", _LAYER_INFO)
)
"""kpack's type of the ``io.buildpacks.buildpack.layers`` label."""
BUILDPACKAGE_METADATA = GoType(
    "cnb.BuildpackageMetadata",
    "struct",
    fields=(GoField("id", STRING), GoField("version", STRING), GoField("homepage", STRING)),
)
"""kpack's type of the ``io.buildpacks.buildpackage.metadata`` label."""


def string_label(image: oci.RemoteImage, *, key: str) -> str:
    """The label ``key`` (``imagehelpers.GetStringLabel``)."""
    labels = image.labels
    if key not in labels:
        raise BuilderProblem(f"could not find label {key}")
    return labels[key]


def json_label(image: oci.RemoteImage, *, key: str, go_type: GoType) -> Any:
    """The label ``key`` decoded into ``go_type`` as Go's ``json.Unmarshal`` does
    (``imagehelpers.GetLabel``): a struct as a dict of all its fields (zero values for the absent),
    a slice as a list, a map as a dict, ``None`` for a nil slice or map."""
    text = string_label(image, key=key)
    problem = _syntax_problem(text.encode())
    if problem:
        raise BuilderProblem(problem)
    try:
        value = json.loads(text, object_pairs_hook=_Object)
        return _decode(go_type, value, current=_zero(go_type), context=("", ()))
    except RecursionError as e:  # Go's limit is 10000 levels, Python's is lower
        raise BuilderProblem("exceeded max depth") from e


class _Object(tuple[tuple[str, Any], ...]):
    """A JSON object as its (key, value) pairs in document order, duplicates kept."""


_Context = tuple[str, tuple[str, ...]]
"""The innermost struct entered and the path of field names from the top (Go's ``errorContext``)."""


def _decode(go_type: GoType, value: Any, *, current: Any, context: _Context) -> Any:
    if value is None:  # null empties a slice or map and leaves anything else as it was
        return None if go_type.kind in ("slice", "map") else current
    if go_type.kind == "struct" and isinstance(value, _Object):
        return _decode_struct(go_type, value, current=current, context=context)
    if go_type.kind == "map" and isinstance(value, _Object):
        decoded = dict(current or {})
        for key, item in value:
            decoded[key] = _decode(_of(go_type), item, current=_zero(_of(go_type)), context=context)
        return decoded
    if go_type.kind == "slice" and isinstance(value, list):
        return [_decode(_of(go_type), item, current=_zero(_of(go_type)), context=context) for item in value]
    if go_type.kind == "string" and isinstance(value, str):
        return value
    if go_type.kind == "bool" and isinstance(value, bool):
        return value
    raise BuilderProblem(_type_problem(value, go_type=go_type, context=context))


def _decode_struct(
    go_type: GoType, value: _Object, *, current: dict[str, Any], context: _Context
) -> dict[str, Any]:
    decoded = dict(current)
    by_key = {field.key: field for field in go_type.fields}
    by_folded = {_fold(field.key): field for field in go_type.fields}
    for key, item in value:
        field = by_key.get(key) or by_folded.get(_fold(key))
        if field is None:
            continue
        path = (*context[1], *([field.embedded] if field.embedded else []), field.key)
        inner = (go_type.name.rpartition(".")[2], path)
        decoded[field.key] = _decode(field.type, item, current=decoded[field.key], context=inner)
    return decoded


def _of(go_type: GoType) -> GoType:
    assert go_type.of is not None, go_type
    return go_type.of


def _zero(go_type: GoType) -> Any:
    if go_type.kind == "struct":
        return {field.key: _zero(field.type) for field in go_type.fields}
    return {"string": "", "bool": False}.get(go_type.kind)


def _fold(key: str) -> str:
    """Go's ``foldName``: ASCII letters in one case, the Kelvin sign as K, the long s as S."""
    folded = "".join(c.upper() if c.isascii() else c for c in key)
    return folded.replace("\u212a", "K").replace("\u017f", "S")


def _type_problem(value: Any, *, go_type: GoType, context: _Context) -> str:
    """Go's ``UnmarshalTypeError`` text."""
    if isinstance(value, _Object):
        what = "object"
    elif isinstance(value, list):
        what = "array"
    elif isinstance(value, bool):
        what = "bool"
    else:
        what = "string" if isinstance(value, str) else "number"
    struct, path = context
    if struct:
        return f"json: cannot unmarshal {what} into Go struct field {struct}.{'.'.join(path)} of type {go_type.name}"
    return f"json: cannot unmarshal {what} into Go value of type {go_type.name}"


# Go's JSON scanner (encoding/json scanner.go): the text of the first syntax error -----------------

_SPACE = frozenset(b" \t\r\n")
_DIGITS = frozenset(b"0123456789")
_HEX = frozenset(b"0123456789abcdefABCDEF")
_MAX_DEPTH = 10000


class _SyntaxProblem(Exception):
    pass


def _syntax_problem(data: bytes) -> str:
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
            self.step = self.fraction_start
        elif c in b"eE":
            self.step = self.exponent_sign
        else:
            self.end_value(c)

    def fraction_start(self, c: int) -> None:
        if c not in _DIGITS:
            self.error(c, "after decimal point in numeric literal")
        self.step = self.fraction

    def fraction(self, c: int) -> None:
        if c in b"eE":
            self.step = self.exponent_sign
        elif c not in _DIGITS:
            self.end_value(c)

    def exponent_sign(self, c: int) -> None:
        if c in b"+-":
            self.step = self.exponent_start
        else:
            self.exponent_start(c)

    def exponent_start(self, c: int) -> None:
        if c not in _DIGITS:
            self.error(c, "in exponent of numeric literal")
        self.step = self.exponent

    def exponent(self, c: int) -> None:
        if c not in _DIGITS:
            self.end_value(c)
