"""A run's final state as documents that two runs of one scenario can be compared by.

:func:`normalise` takes the objects a run ended with (Images, Builds, pods, PVCs) and removes
what differs between two runs that did the same: uids (also in owner references),
resourceVersions, creation timestamps, managed fields, every time (``lastTransitionTime``,
``startedAt``, an RFC 3339 or RFC 2822 time inside a string, the ``20261206.165228`` of a
build's timestamped tag and cosign annotation), generated names (``generateName``: numbered in
name order), and the strings the caller names as run-specific (the run's registry host and
repository prefix, its builder's name).
Digests are kept as relations, not values: each distinct ``sha256:…`` becomes ``sha256:<n>``,
the n-th digest of its repository in order of first appearance (documents sorted by kind,
namespace and name, keys walked in sorted order), so the same image in two places stays the
same and a digest made anew every run (each simulated build pushes new content) compares equal.
A completion message (base64 gzip of the build metadata, whose digests are not visible to this
mapping) is replaced by a placeholder.

Pure: no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

DROPPED_METADATA = frozenset(
    {"uid", "resourceVersion", "creationTimestamp", "managedFields", "selfLink", "deletionTimestamp"}
)
TIME_KEYS = frozenset(
    {
        "lastTransitionTime",
        "lastUpdateTime",
        "lastProbeTime",
        "startedAt",
        "finishedAt",
        "startTime",
        "completionTime",
        "creationTimestamp",
    }
)
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)")
_HTTP_TIME = re.compile(r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d \w{3} \d{4} \d\d:\d\d:\d\d (?:[+-]\d{4}|GMT)")
_STAMP = re.compile(r"(?<!\d)\d{8}\.\d{6}(?!\d)")
"""A build's timestamp as kpack writes it in a tag (``b2.20261206.165228``) and the cosign
annotations (``buildTimestamp=20261206.165228``)."""
_DIGEST = re.compile(r"(?:(?P<repository>[\w.:/-]+)@)?(?P<digest>sha256:[0-9a-f]{64})")
_GZIP_BASE64 = "H4sI"
"""How base64 of a gzip stream starts: a completion message."""
ZERO_DIGEST = "sha256:" + "0" * 64
KINDS_ORDER = ("Image", "Build", "Pod", "PersistentVolumeClaim")

Document = dict[str, Any]


def normalise(
    objects: Iterable[Mapping[str, Any]], *, replacements: Mapping[str, str] | None = None
) -> list[Document]:
    """The documents of ``objects`` with run-specific fields removed or mapped to stable values,
    sorted by kind, namespace and name. ``replacements``: run-specific strings → stable ones,
    applied inside every string (longest first)."""
    ordered = sorted((dict(o) for o in objects), key=_sort_key)
    generated = _generated_names(ordered)
    swaps = sorted({**(replacements or {}), **generated}.items(), key=lambda kv: -len(kv[0]))
    digests: dict[str, str] = {ZERO_DIGEST: ZERO_DIGEST}
    cleaned = [_clean_object(o, swaps=swaps, digests=digests) for o in ordered]
    return sorted(cleaned, key=_sort_key)


def _sort_key(document: Mapping[str, Any]) -> tuple[int, str, str, str]:
    kind = str(document.get("kind", ""))
    metadata = document.get("metadata") or {}
    rank = KINDS_ORDER.index(kind) if kind in KINDS_ORDER else len(KINDS_ORDER)
    return (rank, kind, str(metadata.get("namespace", "")), str(metadata.get("name", "")))


def _generated_names(objects: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Each generated name → ``<generateName>#<n>`` (n-th of that prefix and kind, by name)."""
    counters: dict[tuple[str, str], int] = {}
    names: dict[str, str] = {}
    for document in objects:
        metadata = document.get("metadata") or {}
        prefix = metadata.get("generateName")
        name = metadata.get("name")
        if not prefix or not name:
            continue
        key = (str(document.get("kind", "")), str(prefix))
        counters[key] = counters.get(key, 0) + 1
        names[str(name)] = f"{prefix}#{counters[key]}"
    return names


def _clean_object(
    document: Mapping[str, Any], *, swaps: Sequence[tuple[str, str]], digests: dict[str, str]
) -> Document:
    metadata = {k: v for k, v in (document.get("metadata") or {}).items() if k not in DROPPED_METADATA}
    if "ownerReferences" in metadata:
        metadata["ownerReferences"] = [
            {k: v for k, v in ref.items() if k != "uid"} for ref in metadata["ownerReferences"]
        ]
    body = {**document, "metadata": metadata}
    cleaned: Document = _clean(body, swaps=swaps, digests=digests)
    return cleaned


def _clean(value: Any, *, swaps: Sequence[tuple[str, str]], digests: dict[str, str]) -> Any:
    if isinstance(value, Mapping):
        return {
            key: _clean(value[key], swaps=swaps, digests=digests)
            for key in sorted(value)
            if key not in TIME_KEYS
        }
    if isinstance(value, list):
        return [_clean(item, swaps=swaps, digests=digests) for item in value]
    if isinstance(value, str):
        return _clean_text(value, swaps=swaps, digests=digests)
    return value


def _clean_text(text: str, *, swaps: Sequence[tuple[str, str]], digests: dict[str, str]) -> str:
    if text.startswith(_GZIP_BASE64):
        return "<completion message>"
    if text[:1] in "[{":
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, list | dict):  # JSON in an annotation (buildChanges): cleaned alike
            return json.dumps(_clean(parsed, swaps=swaps, digests=digests), sort_keys=True)
    for old, new in swaps:
        if old:
            text = text.replace(old, new)
    text = _TIME.sub("<time>", text)
    text = _HTTP_TIME.sub("<time>", text)
    text = _STAMP.sub("<time>", text)
    return _DIGEST.sub(lambda m: _digest(m, digests), text)


def _digest(found: re.Match[str], digests: dict[str, str]) -> str:
    """``repository@sha256:<n>``: the n-th digest seen of that repository (one digest missing in a
    run shifts the numbers of its own repository only), or ``sha256:<n>`` with no repository.
    ``digests`` holds each digest's token, and under ``#<repository>`` how many that one has."""
    repository, digest = found.group("repository"), found.group("digest")
    if digest not in digests:
        count = f"#{repository or ''}"
        digests[count] = str(int(digests.get(count, "0")) + 1)
        digests[digest] = f"sha256:<{digests[count]}>"
    return f"{repository}@{digests[digest]}" if repository else digests[digest]


def differences(reference: Sequence[Document], other: Sequence[Document], *, most: int = 5) -> list[str]:
    """Where ``other`` differs from ``reference``: at most ``most`` lines naming the object and the
    first differing path."""
    ref = {_label(d): d for d in reference}
    got = {_label(d): d for d in other}
    found = [f"{label}: missing" for label in ref if label not in got]
    found += [f"{label}: not in the reference" for label in got if label not in ref]
    for label in ref:
        if label in got and ref[label] != got[label]:
            found.append(f"{label}: {_first_difference(ref[label], got[label])}")
    return found[:most]


def _label(document: Mapping[str, Any]) -> str:
    metadata = document.get("metadata") or {}
    where = f"{metadata['namespace']}/" if metadata.get("namespace") else ""
    return f"{document.get('kind', '?')} {where}{metadata.get('name', '?')}"


def _first_difference(one: Any, other: Any, path: str = "") -> str:
    if isinstance(one, Mapping) and isinstance(other, Mapping):
        for key in sorted({*one, *other}):
            if one.get(key) != other.get(key):
                return _first_difference(one.get(key), other.get(key), f"{path}.{key}")
    if isinstance(one, list) and isinstance(other, list) and len(one) == len(other):
        for index, (a, b) in enumerate(zip(one, other, strict=True)):
            if a != b:
                return _first_difference(a, b, f"{path}[{index}]")
    return f"{path or '.'}: {_short(one)} != {_short(other)}"


def _short(value: Any, width: int = 120) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= width else text[: width - 1] + "…"
