"""Webhook bodies as GitHub, GitLab and a distribution registry send them (trimmed to what matters,
plus a few fields Kiln does not read, to show they are tolerated), and Images and builders to
match them against."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from contracts import builders, images

GITHUB_SECRET = "It's a Secret to Everybody"
TOKEN = "s3cr3t-token"
COMMIT = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"
OTHER_COMMIT = "b6f0b3a7c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6"
TAG_OBJECT = "8a1f0c7e2b3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f"
ZERO = "0" * 40
DIGEST = "sha256:" + "ab" * 32
REGISTRY_MEDIA_TYPE = "application/vnd.docker.distribution.events.v1+json"
MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"


def sign(body: bytes, secret: str = GITHUB_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def encode(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def github_push(
    *,
    ref: str = "refs/heads/main",
    after: str = COMMIT,
    before: str = OTHER_COMMIT,
    repo: str = "example/app",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "ref": ref,
        "before": before,
        "after": after,
        "created": False,
        "deleted": False,
        "forced": False,
        "repository": {
            "id": 1296269,
            "full_name": repo,
            "clone_url": f"https://github.com/{repo}.git",
            "html_url": f"https://github.com/{repo}",
            "ssh_url": f"git@github.com:{repo}.git",
            "git_url": f"git://github.com/{repo}.git",
        },
        "pusher": {"name": "octocat", "email": "octocat@example.com"},
        "head_commit": {"id": after, "message": "Fix the build"},
        **extra,
    }


def gitlab_push(
    *,
    ref: str = "refs/heads/main",
    after: str = COMMIT,
    checkout_sha: str | None = COMMIT,
    project: str = "group/app",
    kind: str = "push",
) -> dict[str, Any]:
    return {
        "object_kind": kind,
        "event_name": kind,
        "before": OTHER_COMMIT,
        "after": after,
        "ref": ref,
        "checkout_sha": checkout_sha,
        "user_username": "jsmith",
        "project": {
            "id": 15,
            "path_with_namespace": project,
            "web_url": f"https://gitlab.example.com/{project}",
            "git_ssh_url": f"git@gitlab.example.com:{project}.git",
            "git_http_url": f"https://gitlab.example.com/{project}.git",
        },
        "commits": [],
        "total_commits_count": 0,
    }


def registry_event(
    *,
    action: str = "push",
    repository: str = "builders/default",
    tag: str | None = "latest",
    digest: str = DIGEST,
    media_type: str = MANIFEST_MEDIA_TYPE,
    host: str | None = "registry.example:5000",
    event_id: str = "asdf-asdf-asdf-asdf-0",
) -> dict[str, Any]:
    target: dict[str, Any] = {
        "mediaType": media_type,
        "size": 708,
        "digest": digest,
        "length": 708,
        "repository": repository,
        "url": f"https://registry.example:5000/v2/{repository}/manifests/{digest}",
    }
    if tag is not None:
        target["tag"] = tag
    request: dict[str, Any] = {"id": "req-1", "addr": "192.168.64.11:42961", "method": "PUT"}
    if host is not None:
        request["host"] = host
    return {
        "id": event_id,
        "timestamp": "2016-03-09T14:44:26.402973972-08:00",
        "action": action,
        "target": target,
        "request": request,
        "actor": {},
        "source": {"addr": "xtal.local:5000", "instanceID": "a53db899-3b4b-4a62-a067-8dd013beaca4"},
    }


def envelope(*registry_events: dict[str, Any]) -> dict[str, Any]:
    return {"events": list(registry_events)}


def image(
    name: str,
    *,
    namespace: str = "apps",
    url: str = "https://github.com/example/app",
    revision: str = "main",
) -> images.Image:
    return images.Image.model_validate(
        {
            "apiVersion": "kpack.io/v1alpha2",
            "kind": "Image",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "tag": f"registry.example/{name}",
                "builder": {"kind": "ClusterBuilder", "name": "default"},
                "source": {"git": {"url": url, "revision": revision}},
            },
        }
    )


def blob_image(name: str, *, namespace: str = "apps") -> images.Image:
    return images.Image.model_validate(
        {
            "apiVersion": "kpack.io/v1alpha2",
            "kind": "Image",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"tag": f"registry.example/{name}", "source": {"blob": {"url": "https://x/app.tgz"}}},
        }
    )


def builder(
    name: str,
    *,
    kind: str = builders.CLUSTER_BUILDER,
    namespace: str = "",
    tag: str | None = "registry.example:5000/builders/default",
    latest_image: str | None = None,
    resource_version: str = "7",
) -> builders.Builder:
    spec: dict[str, Any] = {"order": []}
    if tag is not None:
        spec["tag"] = tag
    metadata: dict[str, Any] = {"name": name, "resourceVersion": resource_version}
    if namespace:
        metadata["namespace"] = namespace
    return builders.Builder.model_validate(
        {
            "apiVersion": "kpack.io/v1alpha2",
            "kind": kind,
            "metadata": metadata,
            "spec": spec,
            "status": {"latestImage": latest_image} if latest_image else {},
        }
    )
