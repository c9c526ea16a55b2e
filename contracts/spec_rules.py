"""kpack's validation of the parts Images and Builds share, word for word: the source
(``core/v1alpha1/source_validation.go``), services, CNB bindings and notary
(``v1alpha2/build_validation.go``, ``core/v1alpha1/build_validation.go``, ``notary_validation.go``),
cosign annotations (``v1alpha2/cosign_validation.go``), the build environment and node selector.

Every validator returns ``FieldError | None`` with paths relative to the part it is given.
Parts that the contracts keep untyped (an Image's ``build.services``, ``build.cnbBindings``,
``notary``, ``cosign``) are read as kpack's webhook reads them, into the Go types
(:func:`contracts.golang.decode`); a value that Go cannot read is reported as
``cannot decode incoming new object: <problem>: <path>``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from contracts import builds, golang, images, meta, references, sources
from contracts import fielderrors as fe

OS_LABEL = "kubernetes.io/os"
BLOB_AUTHS = ("", "helper", "secret")
USER_DEPRECATED = "use of this field has been deprecated in v1alpha2, please use v1alpha1 for {}"
"""kpack's answer to a user who sets ``cnbBindings`` (``CNB bindings``) or ``notary`` (``notary image
signing``) on a v1alpha2 Image or Build."""
_SERVICE_OR_BINDING_NAME = re.compile(r"^[a-z0-9\-\.]{1,253}$")


def validate_source(source: sources.SourceConfig) -> fe.FieldError | None:
    """Exactly one of git, blob, registry, each with its required fields (paths relative to source)."""
    kinds = source.kinds()
    if not kinds:
        return fe.missing_one_of("git", "blob", "registry")
    if len(kinds) > 1:
        return fe.multiple_one_of(*kinds)
    if source.git is not None:
        return fe.via_field(
            fe.also(not_empty(source.git.url, "url"), not_empty(source.git.revision, "revision")), "git"
        )
    if source.blob is not None:
        return fe.via_field(_validate_blob(source.blob), "blob")
    return fe.via_field(validate_image_ref(source.registry.image, "image"), "registry")  # type: ignore[union-attr]


def _validate_blob(blob: sources.Blob) -> fe.FieldError | None:
    """An unknown ``auth`` is the only error reported; else the url and ``stripComponents``."""
    auth = blob.auth or ""
    if auth not in BLOB_AUTHS:
        return fe.invalid_value(auth, "auth", "must be one of '', 'helper', or 'secret'")
    strip = blob.strip_components or 0
    negative = fe.generic(f"expected positive integer got {strip}", "stripComponents") if strip < 0 else None
    return fe.also(not_empty(blob.url, "url"), negative)


def validate_cache_kinds(
    cache: images.ImageCacheConfig | builds.BuildCacheConfig | None,
) -> fe.FieldError | None:
    """``only one type of cache can be specified`` (paths relative to cache)."""
    if cache is not None and cache.volume is not None and cache.registry is not None:
        return fe.generic("only one type of cache can be specified", "volume", "registry")
    return None


def validate_services(services: object) -> fe.FieldError | None:
    """Each service has a unique, valid name and a kind (kpack ``Services.Validate``)."""
    decoded, error = _decoded(golang.Slice(golang.OBJECT_REFERENCE), services)
    return error or _unique_names(decoded or [], what="service", each=_validate_service)


def _validate_service(service: dict[str, Any]) -> fe.FieldError | None:
    return fe.also(_validate_name(service["name"]), not_empty(service["kind"], "kind"))


def validate_cnb_bindings(bindings: object, *, user_request: bool) -> fe.FieldError | None:
    """Refused in a user's v1alpha2 request; else each binding has a unique, valid name and a
    metadata ConfigMap, and a secret reference names its Secret."""
    decoded, error = _decoded(golang.Slice(golang.CNB_BINDING), bindings)
    if error or not decoded:
        return error
    if user_request:
        return fe.generic(USER_DEPRECATED.format("CNB bindings"), fe.CURRENT_FIELD)
    return _unique_names(decoded, what="binding", each=_validate_cnb_binding)


def _validate_cnb_binding(binding: dict[str, Any]) -> fe.FieldError | None:
    metadata, secret = binding["metadataRef"], binding["secretRef"]
    return fe.also(
        _validate_name(binding["name"]),
        fe.missing_field("metadataRef")
        if metadata is None
        else not_empty(metadata["name"], "metadataRef.name"),
        not_empty(secret["name"], "secretRef.name") if secret is not None else None,
    )


def validate_notary(notary: object, *, user_request: bool) -> fe.FieldError | None:
    """Refused in a user's v1alpha2 request; else ``v1`` needs a url and a secret name."""
    decoded, error = _decoded(golang.Pointer(golang.NOTARY_CONFIG), notary)
    if error or decoded is None:
        return error
    if user_request:
        return fe.generic(USER_DEPRECATED.format("notary image signing"), fe.CURRENT_FIELD)
    v1 = decoded["v1"]
    if v1 is None:
        return None
    return fe.via_field(
        fe.also(not_empty(v1["url"], "url"), not_empty(v1["secretRef"]["name"], "secretRef.name")), "v1"
    )


def validate_cosign(cosign: object) -> fe.FieldError | None:
    """Every cosign annotation has a name and a value."""
    decoded, error = _decoded(golang.Pointer(golang.COSIGN_CONFIG), cosign)
    if error or decoded is None:
        return error
    return fe.also(
        *(
            fe.via_field(
                fe.also(not_empty(a["name"], "name"), not_empty(a["value"], "value")), f"annotations[{i}]"
            )
            for i, a in enumerate(decoded["annotations"] or [])
        )
    )


def validate_env(env: list[dict[str, Any]] | None) -> fe.FieldError | None:
    """kpack's security rule: no build environment variable may read a Secret."""
    return fe.also(
        *(
            fe.generic(
                "secretKeyRef is not supported for build environment variables",
                f"[{i}].valueFrom.secretKeyRef",
            )
            for i, var in enumerate(env or [])
            if golang.lookup(golang.lookup(var, "valueFrom"), "secretKeyRef") is not None
        )
    )


def validate_node_selector(node_selector: dict[str, str] | None) -> fe.FieldError | None:
    if node_selector and OS_LABEL in node_selector:
        return fe.invalid_key_name(OS_LABEL, "nodeSelector", "os is determined automatically")
    return None


def validate_image_ref(value: str, path: str) -> fe.FieldError | None:
    """kpack ``validate.Image``: required, and a tag or digest reference."""
    if not value:
        return fe.missing_field(path)
    return None if references.is_valid(value) else fe.invalid_value(value, path)


def not_empty(value: str, path: str) -> fe.FieldError | None:
    """kpack ``validate.FieldNotEmpty``."""
    return None if value else fe.missing_field(path)


def _validate_name(name: str) -> fe.FieldError | None:
    if not name:
        return fe.missing_field("name")
    return None if _SERVICE_OR_BINDING_NAME.match(name) else fe.invalid_value(name, "name")


def _unique_names(
    items: list[dict[str, Any]], *, what: str, each: Callable[[dict[str, Any]], fe.FieldError | None]
) -> fe.FieldError | None:
    """``each`` item's errors at its index, and ``duplicate <what> name "n"`` naming both indices."""
    errors: list[fe.FieldError | None] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        name = item["name"]
        if name in seen:
            message = f"duplicate {what} name {golang.quote(name)}"
            errors.append(fe.generic(message, f"[{seen[name]}].name", f"[{i}].name"))
        seen[name] = i
        errors.append(fe.via_field(each(item), f"[{i}]"))
    return fe.also(*errors)


def _wire(value: object) -> object:
    """A typed part (a Build's) in its wire form, as the webhook receives it."""
    if isinstance(value, meta.KubeModel):
        return value.dump()
    if isinstance(value, list):
        return [_wire(item) for item in value]
    return value


def _decoded(go_type: golang.GoType, value: object) -> tuple[Any, fe.FieldError | None]:
    """``value`` as kpack's webhook reads it, or the error it answers when it cannot."""
    try:
        return golang.decode(go_type, _wire(value)), None
    except golang.GoError as e:
        return None, fe.generic(f"cannot decode incoming new object: {e.problem}", e.path)
