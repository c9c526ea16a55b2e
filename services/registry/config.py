"""What an image's config blob tells Kiln, above all a CNB builder image's (spec §5.1).

Pure: :func:`image_config_from_blob` validates the raw OCI/Docker config JSON into the frozen
:class:`ImageConfig` once, at the registry edge.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pydantic

from services import errors

STACK_ID_LABEL = "io.buildpacks.stack.id"
BUILDER_METADATA_LABEL = "io.buildpacks.builder.metadata"
LIFECYCLE_APIS_LABEL = "io.buildpacks.lifecycle.apis"
UID_ENV = "CNB_USER_ID"
GID_ENV = "CNB_GROUP_ID"


class ImageConfigError(errors.PermanentError, ValueError):
    """An image config (or one of its buildpacks labels) that cannot be understood."""


class BuilderBuildpack(pydantic.BaseModel):
    """One buildpack listed in the builder metadata label."""

    model_config = pydantic.ConfigDict(frozen=True, extra="ignore", use_attribute_docstrings=True)

    id: str
    """Buildpack id, e.g. ``paketo-buildpacks/go``."""
    version: str = ""
    """Buildpack version."""
    homepage: str = ""
    """Buildpack homepage, empty when the builder does not say."""


class ImageConfig(pydantic.BaseModel):
    """An image config as the build pod generator needs it; empty/None where a label is absent."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    stack_id: str = ""
    """Label ``io.buildpacks.stack.id``."""
    run_image: str = ""
    """Builder metadata ``stack.runImage.image``."""
    platform_apis: list[str] = pydantic.Field(default_factory=list)
    """Lifecycle platform APIs: deprecated then supported, as kpack concatenates them."""
    uid: int | None = None
    """Env ``CNB_USER_ID``."""
    gid: int | None = None
    """Env ``CNB_GROUP_ID``."""
    os: str = ""
    """Config ``os`` (``linux``, ``windows``)."""
    architecture: str = ""
    """Config ``architecture`` (``amd64``, ``arm64``)."""
    lifecycle_version: str = ""
    """Builder metadata ``lifecycle.version``."""
    buildpacks: list[BuilderBuildpack] = pydantic.Field(default_factory=list)
    """Builder metadata ``buildpacks``."""
    labels: dict[str, str] = pydantic.Field(default_factory=dict)
    """All config labels, verbatim."""
    env: dict[str, str] = pydantic.Field(default_factory=dict)
    """Config ``Env`` as a mapping."""


def image_config_from_blob(blob: Mapping[str, Any]) -> ImageConfig:
    """Validate a decoded config blob (``{"os", "architecture", "config": {"Labels", "Env"}}``)."""
    inner = blob.get("config") or {}
    if not isinstance(inner, Mapping):
        raise ImageConfigError("image config: 'config' is not an object")
    labels = {str(k): str(v) for k, v in (inner.get("Labels") or {}).items()}
    env = dict(_split_env(item) for item in inner.get("Env") or [])
    metadata = _json_label(labels, BUILDER_METADATA_LABEL)
    lifecycle = metadata.get("lifecycle") or {}
    try:
        return ImageConfig(
            stack_id=labels.get(STACK_ID_LABEL, ""),
            run_image=((metadata.get("stack") or {}).get("runImage") or {}).get("image", ""),
            platform_apis=_platform_apis(labels, lifecycle),
            uid=_int_env(env, UID_ENV),
            gid=_int_env(env, GID_ENV),
            os=str(blob.get("os") or ""),
            architecture=str(blob.get("architecture") or ""),
            lifecycle_version=str(lifecycle.get("version") or ""),
            buildpacks=metadata.get("buildpacks") or [],
            labels=labels,
            env=env,
        )
    except (pydantic.ValidationError, AttributeError) as e:
        raise ImageConfigError(f"image config has malformed buildpacks metadata: {e}") from e


def _split_env(item: str) -> tuple[str, str]:
    name, _, value = str(item).partition("=")
    return name, value


def _int_env(env: Mapping[str, str], name: str) -> int | None:
    if name not in env:
        return None
    try:
        return int(env[name])
    except ValueError as e:
        raise ImageConfigError(f"image config env {name}={env[name]!r} is not an integer") from e


def _json_label(labels: Mapping[str, str], name: str) -> Mapping[str, Any]:
    if name not in labels:
        return {}
    try:
        value = json.loads(labels[name])
    except json.JSONDecodeError as e:
        raise ImageConfigError(f"image label {name} is not valid JSON: {e}") from e
    if not isinstance(value, Mapping):
        raise ImageConfigError(f"image label {name} is not a JSON object")
    return value


def _platform_apis(labels: Mapping[str, str], lifecycle: Mapping[str, Any]) -> list[str]:
    """``io.buildpacks.lifecycle.apis`` first; else the builder metadata's copy of it."""
    apis = _json_label(labels, LIFECYCLE_APIS_LABEL) or lifecycle.get("apis") or {}
    platform = apis.get("platform") or {}
    if platform:
        return [str(v) for v in [*(platform.get("deprecated") or []), *(platform.get("supported") or [])]]
    single = (lifecycle.get("api") or {}).get("platform")
    return [str(single)] if single else []
