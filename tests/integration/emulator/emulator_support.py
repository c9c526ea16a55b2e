"""Helpers for the emulator tests: kpack objects as users write them."""

from __future__ import annotations

import uuid
from typing import Any

GROUP = "kpack.io"
VERSION = "v1alpha2"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def image(
    name: str, *, tag: str = "registry.example/app", labels: dict[str, str] | None = None
) -> dict[str, Any]:
    """A kpack Image as a user would write it."""
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Image",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {
            "tag": tag,
            "serviceAccountName": "default",
            "builder": {"kind": "ClusterBuilder", "name": "default"},
            "source": {"git": {"url": "https://github.com/example/app", "revision": "main"}},
        },
    }


def owner_reference(owner: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
    }
