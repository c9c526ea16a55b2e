"""Reading and writing the YAML/JSON documents the command line takes and prints."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import yaml

Output = Literal["yaml", "json"]


class DocumentError(ValueError):
    """A file that is not YAML/JSON objects."""


def load(path: Path) -> list[dict[str, Any]]:
    """Every document in ``path``: YAML documents separated by ``---``, a JSON object or a JSON list."""
    try:
        text = path.read_text()
    except OSError as e:
        raise DocumentError(f"{path}: cannot read: {e.strerror}") from e
    try:
        loaded = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as e:
        raise DocumentError(f"{path}: not YAML or JSON: {e}") from e
    if len(loaded) == 1 and isinstance(loaded[0], list):
        loaded = loaded[0]
    for index, doc in enumerate(loaded):
        if not isinstance(doc, dict):
            raise DocumentError(f"{path}: document {index + 1} is not an object (got {type(doc).__name__})")
    return loaded


def load_one(path: Path) -> dict[str, Any]:
    docs = load(path)
    if len(docs) != 1:
        raise DocumentError(f"{path}: expected exactly one document, found {len(docs)}")
    return docs[0]


def render(docs: Iterable[Any], *, output: Output) -> str:
    """YAML documents joined by ``---``, or JSON (one object, or a list for several)."""
    items = list(docs)
    if output == "json":
        payload = items[0] if len(items) == 1 else items
        return json.dumps(payload, indent=2) + "\n"
    return "---\n".join(
        yaml.dump(doc, Dumper=_PlainDumper, sort_keys=False, default_flow_style=False) for doc in items
    )


class _PlainDumper(yaml.SafeDumper):
    """No ``&id001`` anchors and ``*id001`` aliases where a dict appears twice: print it each time."""

    def ignore_aliases(self, data: Any) -> bool:
        return True
