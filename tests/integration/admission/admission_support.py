"""The Image the admission tests send (kpack's fixture shape, v1alpha2)."""

from __future__ import annotations

from typing import Any


def an_image(name: str = "app", namespace: str = "team", **spec: Any) -> dict[str, Any]:
    base = {
        "tag": "registry.example/team/app",
        "builder": {"kind": "ClusterBuilder", "name": "default"},
        "source": {"git": {"url": "https://github.com/team/app", "revision": "main"}},
    }
    return {
        "apiVersion": "kpack.io/v1alpha2",
        "kind": "Image",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {**base, **spec},
    }
