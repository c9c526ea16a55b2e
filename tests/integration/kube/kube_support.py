"""Objects as users (and the build runner) write them, one factory per kind the adapter serves."""

from __future__ import annotations

from typing import Any

from contracts import builders, builds, images, source_resolvers
from services.kube import resources

KPACK = "kpack.io/v1alpha2"


def image(name: str, namespace: str, *, labels: dict[str, str] | None = None) -> images.Image:
    return images.Image.model_validate(
        {
            "apiVersion": KPACK,
            "kind": "Image",
            "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
            "spec": {
                "tag": f"registry.example/{name}",
                "builder": {"kind": "ClusterBuilder", "name": "default"},
                "source": {"git": {"url": "https://github.com/example/app", "revision": "main"}},
            },
        }
    )


def build(name: str, namespace: str, *, labels: dict[str, str] | None = None) -> builds.Build:
    return builds.Build.model_validate(
        {
            "apiVersion": KPACK,
            "kind": "Build",
            "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
            "spec": {
                "tags": [f"registry.example/{name}"],
                "builder": {"image": "registry.example/builder@sha256:" + "1" * 64},
                "source": {"git": {"url": "https://github.com/example/app", "revision": "abc"}},
            },
        }
    )


def builder(name: str, namespace: str, *, labels: dict[str, str] | None = None) -> builders.Builder:
    return builders.Builder.model_validate(
        {
            "apiVersion": KPACK,
            "kind": "Builder",
            "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
            "spec": {"tag": f"registry.example/builders/{name}", "order": []},
        }
    )


def cluster_builder(name: str, namespace: str, *, labels: dict[str, str] | None = None) -> builders.Builder:
    """A ClusterBuilder: cluster-scoped, so ``namespace`` only makes the name unique."""
    return builders.Builder.model_validate(
        {
            "apiVersion": KPACK,
            "kind": "ClusterBuilder",
            "metadata": {"name": f"{namespace}-{name}", "labels": labels or {}},
            "spec": {"tag": f"registry.example/builders/{name}", "order": []},
        }
    )


def source_resolver(
    name: str, namespace: str, *, labels: dict[str, str] | None = None
) -> source_resolvers.SourceResolver:
    return source_resolvers.SourceResolver.model_validate(
        {
            "apiVersion": KPACK,
            "kind": "SourceResolver",
            "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
            "spec": {"source": {"git": {"url": "https://github.com/example/app", "revision": "main"}}},
        }
    )


def pod(name: str, namespace: str, *, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox"}]},
    }


def pvc(name: str, namespace: str, *, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }


FACTORIES = {
    "images": image,
    "builds": build,
    "builders": builder,
    "cluster_builders": cluster_builder,
    "source_resolvers": source_resolver,
    "pods": pod,
    "pvcs": pvc,
}
KINDS = tuple(FACTORIES)


def resource(kube: resources.Kube, kind: str) -> resources.Resource[Any]:
    found: resources.Resource[Any] = getattr(kube, kind)
    return found


def meta_of(obj: Any) -> dict[str, Any]:
    """``metadata`` of a model or a dict, as the wire has it."""
    raw: dict[str, Any] = obj if isinstance(obj, dict) else obj.dump()
    return dict(raw["metadata"])


def dump(obj: Any) -> dict[str, Any]:
    return obj if isinstance(obj, dict) else obj.dump()


def load(kube: resources.Kube, kind: str, raw: dict[str, Any]) -> Any:
    return resource(kube, kind).parse(raw)
