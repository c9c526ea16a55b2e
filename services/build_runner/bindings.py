"""The bindings of a Build: which Secrets and ConfigMaps ``detect`` and ``build`` see.

As kpack [HEAD] resolves and mounts them:

* ``spec.services``, when there are any, are the bindings (``spec.cnbBindings`` are then ignored).
  A service of kind ``Secret`` binds that Secret. Any other kind is a provisioned service: the
  object is read from the cluster and its ``status.binding.name`` is the Secret (none yet: the
  binding mounts nothing). Volume ``binding-<name>``, read-only at ``/platform/bindings/<name>``.
* ``spec.cnbBindings``: volume ``binding-metadata-<name>`` (the ``metadataRef`` ConfigMap) at
  ``/platform/bindings/<name>/metadata`` and, with a ``secretRef``, ``binding-secret-<name>`` at
  ``/platform/bindings/<name>/secret``; both read-only.
* No binding may use a Secret that a service account of the namespace lists (registry and git
  credentials): ``build rejected: service "<name>" uses forbidden secret "<secret>"``
  (``binding "<name>"`` for CNB bindings).

What the cluster holds is a parameter (:class:`Lookups`); reading it is the build runner's job.
Two refusals kpack does not make (where it would read a core object and mount nothing, or fail
on a nil pointer): a service that is neither a Secret nor a kind with an API group, and a CNB
binding without ``metadataRef``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from contracts import builds, meta
from services import errors
from services.build_runner import secrets as build_secrets

BINDING_ROOT = "/platform/bindings"
"""Where the lifecycle looks for bindings (``SERVICE_BINDING_ROOT``)."""

ServiceKey = tuple[str, str, str]
"""A service as ``(apiVersion, kind, name)``."""


class BindingError(errors.PermanentError, ValueError):
    """A binding the build cannot have; the Build fails with this message."""


@dataclasses.dataclass(frozen=True)
class Lookups:
    """What resolving the bindings needs from the cluster, read beforehand."""

    forbidden_secrets: frozenset[str] = frozenset()
    """Every Secret listed by a service account of the Build's namespace."""
    provisioned: Mapping[ServiceKey, str | None] = dataclasses.field(default_factory=dict)
    """Provisioned services that exist → the Secret their ``status.binding`` names, or None."""


@dataclasses.dataclass(frozen=True)
class ServiceBinding:
    """A service, bound as one Secret (None: a provisioned service with no binding yet)."""

    name: str
    secret: str | None


@dataclasses.dataclass(frozen=True)
class CNBServiceBinding:
    """A CNB binding: a metadata ConfigMap and an optional Secret."""

    name: str
    metadata: str
    secret: str | None


Binding = ServiceBinding | CNBServiceBinding


def key(service: builds.Service) -> ServiceKey:
    return (service.api_version, service.kind, service.name)


def requested(build: builds.Build) -> bool:
    """Whether the Build has bindings to resolve (and so a reason to read the cluster)."""
    return bool(build.spec.services or build.spec.cnb_bindings)


def provisioned_services(build: builds.Build) -> list[builds.Service]:
    """The services to read from the cluster: those that are neither Secrets nor core objects."""
    return [s for s in build.spec.services or [] if not s.is_secret() and _group(s) and s.kind]


def resource_plural(kind: str) -> str:
    """The resource name apimachinery guesses for ``kind`` (``UnsafeGuessKindToResource``)."""
    singular = kind.lower()
    if singular.endswith("endpoints"):
        return singular
    if singular.endswith("s"):
        return singular + "es"
    if singular.endswith("y"):
        return singular[:-1] + "ies"
    return singular + "s"


def forbidden_secrets(service_accounts: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    """The Secrets the namespace's service accounts list under ``secrets``."""
    return frozenset(
        name for account in service_accounts for name in meta.reference_names(account.get("secrets"))
    )


def binding_secret(provisioned_service: Mapping[str, Any]) -> str | None:
    """The Secret a provisioned service's ``status.binding.name`` names, or None."""
    binding = (provisioned_service.get("status") or {}).get("binding") or {}
    return str(binding.get("name") or "") or None


def resolve(build: builds.Build, *, lookups: Lookups) -> list[Binding]:
    """The Build's bindings in order; :class:`BindingError` for one it may not have."""
    if build.spec.services:
        return [_service_binding(service, lookups) for service in build.spec.services]
    return [_cnb_binding(binding, lookups) for binding in build.spec.cnb_bindings or []]


def _group(service: builds.Service) -> str:
    return service.api_version.rpartition("/")[0]


def _service_binding(service: builds.Service, lookups: Lookups) -> ServiceBinding:
    if service.is_secret():
        secret: str | None = service.name
    elif not _group(service) or not service.kind:
        raise BindingError(
            f'service "{service.name}": {service.api_version} {service.kind} is not a provisioned '
            "service (bind a Secret, or a kind with an API group and a status.binding)"
        )
    elif key(service) not in lookups.provisioned:
        raise BindingError(f'{resource_plural(service.kind)}.{_group(service)} "{service.name}" not found')
    else:
        secret = lookups.provisioned[key(service)]
    _allowed("service", service.name, secret, lookups)
    return ServiceBinding(service.name, secret)


def _cnb_binding(binding: builds.CNBBinding, lookups: Lookups) -> CNBServiceBinding:
    secret = binding.secret_ref.name if binding.secret_ref is not None else None
    _allowed("binding", binding.name, secret, lookups)
    if binding.metadata_ref is None:
        raise BindingError(f'binding "{binding.name}" has no metadataRef')
    return CNBServiceBinding(binding.name, binding.metadata_ref.name, secret)


def _allowed(what: str, name: str, secret: str | None, lookups: Lookups) -> None:
    if secret is not None and secret in lookups.forbidden_secrets:
        raise BindingError(f'build rejected: {what} "{name}" uses forbidden secret "{secret}"')


def binding_setup(bindings: Iterable[Binding]) -> build_secrets.SecretSetup:
    """The pod volumes of ``bindings`` and their read-only mounts for ``detect`` and ``build``."""
    setup = build_secrets.SecretSetup()
    for binding in bindings:
        if isinstance(binding, CNBServiceBinding):
            metadata = {"configMap": {"name": binding.metadata}}
            _mount(setup, f"binding-metadata-{binding.name}", metadata, at=f"{binding.name}/metadata")
            if binding.secret is not None:
                secret = {"secret": {"secretName": binding.secret}}
                _mount(setup, f"binding-secret-{binding.name}", secret, at=f"{binding.name}/secret")
        elif binding.secret is not None:
            secret = {"secret": {"secretName": binding.secret}}
            _mount(setup, f"binding-{binding.name}", secret, at=binding.name)
    return setup


def _mount(setup: build_secrets.SecretSetup, volume: str, source: dict[str, Any], *, at: str) -> None:
    setup.volumes.append({"name": volume, **source})
    setup.mounts.append({"name": volume, "mountPath": f"{BINDING_ROOT}/{at}", "readOnly": True})
