"""Fake but well-formed CNB builder images, for tests and the simulated kubelet/sandbox.

:func:`builder_image_config` is pure (the config blob with the labels and env a builder carries,
spec §5.1); :func:`push_builder_image` pushes it with one small, deterministic layer.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Mapping, Sequence
from typing import Any

from services.registry import client, config


def builder_image_config(
    *,
    stack_id: str,
    run_image: str,
    platform_apis: Sequence[str],
    buildpacks: Sequence[config.BuilderBuildpack | Mapping[str, str]],
    lifecycle_version: str,
    uid: int = 1000,
    gid: int = 1000,
    os: str = "linux",
    diff_ids: Sequence[str] = (),
) -> dict[str, Any]:
    """An OCI image config whose labels/env read back as the given :class:`ImageConfig` fields."""
    packs = [config.BuilderBuildpack.model_validate(bp).model_dump() for bp in buildpacks]
    apis = {
        "buildpack": {"deprecated": [], "supported": ["0.7", "0.8", "0.9"]},
        "platform": {"deprecated": [], "supported": list(platform_apis)},
    }
    metadata = {
        "description": "Kiln test builder",
        "stack": {"runImage": {"image": run_image, "mirrors": []}},
        "lifecycle": {"version": lifecycle_version, "apis": apis},
        "buildpacks": packs,
        "createdBy": {"name": "kiln", "version": "0.1.0"},
    }
    labels = {
        config.STACK_ID_LABEL: stack_id,
        config.BUILDER_METADATA_LABEL: json.dumps(metadata, sort_keys=True),
        config.LIFECYCLE_APIS_LABEL: json.dumps(apis, sort_keys=True),
    }
    return {
        "architecture": "amd64",
        "os": os,
        "config": {
            "User": f"{uid}:{gid}",
            "Env": [f"{config.UID_ENV}={uid}", f"{config.GID_ENV}={gid}", "CNB_PLATFORM_API=0.9"],
            "Labels": labels,
            "WorkingDir": "/layers",
        },
        "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
    }


def builder_layer(*, stack_id: str, run_image: str) -> tuple[bytes, str]:
    """A deterministic gzipped tar holding ``cnb/stack.toml``; returns (blob, diff id)."""
    stack_toml = f'[run-image]\n  image = "{run_image}"\n# stack {stack_id}\n'.encode()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("cnb/stack.toml")
        info.size, info.mode, info.mtime = len(stack_toml), 0o644, 0
        tar.addfile(info, io.BytesIO(stack_toml))
    tar_bytes = raw.getvalue()
    blob = gzip.compress(tar_bytes, mtime=0)
    return blob, "sha256:" + hashlib.sha256(tar_bytes).hexdigest()


async def push_builder_image(
    registry: client.RegistryClient,
    ref: str,
    *,
    stack_id: str,
    run_image: str,
    platform_apis: Sequence[str],
    buildpacks: Sequence[config.BuilderBuildpack | Mapping[str, str]],
    lifecycle_version: str,
    uid: int = 1000,
    gid: int = 1000,
    os: str = "linux",
) -> str:
    """Push a builder image to ``ref``; returns its manifest digest."""
    layer, diff_id = builder_layer(stack_id=stack_id, run_image=run_image)
    image_config = builder_image_config(
        stack_id=stack_id,
        run_image=run_image,
        platform_apis=platform_apis,
        buildpacks=buildpacks,
        lifecycle_version=lifecycle_version,
        uid=uid,
        gid=gid,
        os=os,
        diff_ids=[diff_id],
    )
    return await registry.push_image(ref, config=image_config, layers=[layer])
