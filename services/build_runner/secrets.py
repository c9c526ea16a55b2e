"""Secrets of the build's service account as build pod arguments, volumes and mounts.

A secret takes part when it is of a kind the pod wants (kpack's filters): a *git* secret has a
``kpack.io/git`` annotation, a *docker* secret a ``kpack.io/docker`` annotation or a docker config
type, a *blob* secret a ``kpack.io/blob`` annotation. The build pod wants git and docker secrets,
and blob secrets only for a blob source with ``auth: secret``; the rebase pod wants docker secrets.
A secret that takes part gives the first argument that fits, in kpack's order:

==================================================  ====================================
secret                                              argument
==================================================  ====================================
``kubernetes.io/basic-auth`` + ``kpack.io/docker``  ``-basic-docker=<name>=<registry>``
``kubernetes.io/dockerconfigjson``                  ``-dockerconfig=<name>``
``kubernetes.io/dockercfg``                         ``-dockercfg=<name>``
``kubernetes.io/basic-auth`` + ``kpack.io/git``     ``-basic-git=<name>=<url>``
``kubernetes.io/ssh-auth``                          ``-ssh-git=<name>=<kpack.io/git>``
annotation ``kpack.io/blob``                        ``-blob=<name>=<url>``
==================================================  ====================================

and none otherwise (the secret is skipped). An annotation with an empty value counts as absent.

Each one is mounted at ``/var/build-secrets/<name>`` from volume ``secret-volume-<index>``, where
``<index>`` is the secret's position among the service account's secrets (first of each name), as
kpack numbers them: skipped secrets leave gaps. Image pull secrets (the service account's that are
not among its secrets, then the builder's, each name once) become ``-imagepull=<name>`` with volume
``pull-secret-volume-<index>`` mounted at ``/var/build-secrets/<name>``.

A secret with a non-empty ``cosign.key`` is a cosign signing key for the completion step: volume
``secret-volume-<index>`` (the same numbering), mounted at ``/var/build-secrets/cosign/<name>``,
plus ``-cosign-repositories=<name>=<repository>`` and ``-cosign-docker-media-types=<name>=<value>``
when its ``kpack.io/cosign.repository`` and ``kpack.io/cosign.docker-media-types`` annotations are
set.

Two pods kpack would write and the API server would refuse are made valid instead, with the same
files in the same places: a secret that is both a docker secret and a cosign key has one volume
(and two mounts), and an image pull secret the pod already mounts as a build secret keeps its
``-imagepull=`` argument but is not mounted a second time at the same path.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from pydantic import Field

from contracts import meta

DOCKER_ANNOTATION = "kpack.io/docker"
GIT_ANNOTATION = "kpack.io/git"
BLOB_ANNOTATION = "kpack.io/blob"
BASIC_AUTH = "kubernetes.io/basic-auth"
DOCKER_CONFIG_JSON = "kubernetes.io/dockerconfigjson"
DOCKER_CFG = "kubernetes.io/dockercfg"
SSH_AUTH = "kubernetes.io/ssh-auth"
COSIGN_KEY = "cosign.key"
COSIGN_REPOSITORY_ANNOTATION = "kpack.io/cosign.repository"
COSIGN_DOCKER_MEDIA_TYPES_ANNOTATION = "kpack.io/cosign.docker-media-types"
SECRET_PATH = "/var/build-secrets/{name}"
COSIGN_SECRET_PATH = "/var/build-secrets/cosign/{name}"

Kind = Literal["docker", "git", "blob"]
ALL_KINDS: tuple[Kind, ...] = ("docker", "git", "blob")
DOCKER_ONLY: tuple[Kind, ...] = ("docker",)


class BuildSecret(meta.WireModel):
    """One secret of the build's service account, as far as the pod generator needs it."""

    name: str
    """Secret name."""
    type: str = "Opaque"
    """Secret type, e.g. ``kubernetes.io/basic-auth``."""
    annotations: dict[str, str] = Field(default_factory=dict)
    """``kpack.io/docker``, ``kpack.io/git`` or ``kpack.io/blob`` with the registry or URL;
    ``kpack.io/cosign.*`` on a cosign key."""
    data_keys: list[str] = Field(default_factory=list)
    """Keys of the secret's ``data`` that hold a non-empty value (the values are never needed)."""

    def cosign(self) -> bool:
        """A cosign signing key: ``data`` has a non-empty ``cosign.key``."""
        return COSIGN_KEY in self.data_keys


def from_secret(secret: dict[str, Any]) -> BuildSecret:
    """The pod generator's view of a Secret object: its values are dropped, only which are set kept."""
    metadata = secret.get("metadata") or {}
    data = {**(secret.get("data") or {}), **(secret.get("stringData") or {})}
    return BuildSecret(
        name=str(metadata.get("name", "")),
        type=str(secret.get("type") or "Opaque"),
        annotations={str(k): str(v) for k, v in (metadata.get("annotations") or {}).items()},
        data_keys=[str(key) for key, value in data.items() if value],
    )


@dataclasses.dataclass(frozen=True)
class SecretSetup:
    """Volumes, mounts and arguments for a group of secrets."""

    volumes: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    mounts: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    args: list[str] = dataclasses.field(default_factory=list)

    def secret_names(self) -> list[str]:
        """The Secrets the volumes hold, in order."""
        return [volume["secret"]["secretName"] for volume in self.volumes if "secret" in volume]


def wanted(secret: BuildSecret, *, kinds: Iterable[Kind] = ALL_KINDS) -> bool:
    """Whether ``secret`` is of one of ``kinds`` (kpack's ``gitSecrets``, ``blobSecrets``, ``dockerSecrets``)."""
    chosen = set(kinds)
    notes = secret.annotations
    docker = bool(notes.get(DOCKER_ANNOTATION)) or secret.type in (DOCKER_CFG, DOCKER_CONFIG_JSON)
    return (
        ("git" in chosen and bool(notes.get(GIT_ANNOTATION)))
        or ("blob" in chosen and bool(notes.get(BLOB_ANNOTATION)))
        or ("docker" in chosen and docker)
    )


def secret_arg(secret: BuildSecret, *, kinds: Iterable[Kind] = ALL_KINDS) -> str | None:
    """The argument that hands ``secret`` to build-init, completion or rebase; None to skip it.

    The first rule that fits wins, whichever kind made the secret take part (kpack's switch): a
    docker-annotated ssh-auth secret gives ``-ssh-git=`` with an empty URL, a docker-annotated
    Opaque secret with a blob annotation gives ``-blob=``, as kpack's do."""
    if not wanted(secret, kinds=kinds):
        return None
    notes = secret.annotations
    docker, git, blob = (notes.get(key, "") for key in (DOCKER_ANNOTATION, GIT_ANNOTATION, BLOB_ANNOTATION))
    if secret.type == BASIC_AUTH and docker:
        return f"-basic-docker={secret.name}={docker}"
    if secret.type == DOCKER_CONFIG_JSON:
        return f"-dockerconfig={secret.name}"
    if secret.type == DOCKER_CFG:
        return f"-dockercfg={secret.name}"
    if secret.type == BASIC_AUTH and git:
        return f"-basic-git={secret.name}={git}"
    if secret.type == SSH_AUTH:
        return f"-ssh-git={secret.name}={git}"
    if blob:
        return f"-blob={secret.name}={blob}"
    return None


def distinct(secrets: Sequence[BuildSecret]) -> list[BuildSecret]:
    """The first secret of each name, in order (kpack's generator drops repeated names)."""
    first: dict[str, BuildSecret] = {}
    for secret in secrets:
        first.setdefault(secret.name, secret)
    return list(first.values())


def secret_setup(secrets: Sequence[BuildSecret], *, kinds: Iterable[Kind] = ALL_KINDS) -> SecretSetup:
    """Volumes, mounts and arguments of the secrets of ``kinds``, numbered by position."""
    setup = SecretSetup()
    kinds = tuple(kinds)
    for index, secret in enumerate(distinct(secrets)):
        arg = secret_arg(secret, kinds=kinds)
        if arg is None:
            continue
        volume = f"secret-volume-{index}"
        setup.volumes.append({"name": volume, "secret": {"secretName": secret.name}})
        setup.mounts.append({"name": volume, "mountPath": SECRET_PATH.format(name=secret.name)})
        setup.args.append(arg)
    return setup


def cosign_args(secret: BuildSecret) -> list[str]:
    """The repository and docker media types a cosign key's annotations ask for, in that order."""
    notes = secret.annotations
    args = []
    if notes.get(COSIGN_REPOSITORY_ANNOTATION):
        args.append(f"-cosign-repositories={secret.name}={notes[COSIGN_REPOSITORY_ANNOTATION]}")
    if notes.get(COSIGN_DOCKER_MEDIA_TYPES_ANNOTATION):
        args.append(f"-cosign-docker-media-types={secret.name}={notes[COSIGN_DOCKER_MEDIA_TYPES_ANNOTATION]}")
    return args


def cosign_setup(secrets: Sequence[BuildSecret]) -> SecretSetup:
    """Volumes, mounts (under ``/var/build-secrets/cosign``) and arguments of the cosign keys."""
    setup = SecretSetup()
    for index, secret in enumerate(distinct(secrets)):
        if not secret.cosign():
            continue
        volume = f"secret-volume-{index}"
        setup.volumes.append({"name": volume, "secret": {"secretName": secret.name}})
        setup.mounts.append({"name": volume, "mountPath": COSIGN_SECRET_PATH.format(name=secret.name)})
        setup.args.extend(cosign_args(secret))
    return setup


def volumes(*setups: SecretSetup) -> list[dict[str, Any]]:
    """The volumes of ``setups`` in order, each name once (a secret can be both kinds of key)."""
    declared: dict[str, dict[str, Any]] = {}
    for setup in setups:
        for volume in setup.volumes:
            declared.setdefault(volume["name"], volume)
    return list(declared.values())


def image_pull_names(account: Sequence[str], *, builder: Sequence[str], taken: Iterable[str]) -> list[str]:
    """kpack's image pull secrets: the service account's that are not among its secrets (``taken``),
    then the builder's, each name once."""
    skip = set(taken)
    return list(dict.fromkeys([*(name for name in account if name not in skip), *builder]))


def image_pull_setup(names: Sequence[str], *, mounted: Iterable[str] = ()) -> SecretSetup:
    """``-imagepull=<name>`` and volume ``pull-secret-volume-<index>`` per image pull secret; a
    name the pod already mounts as a build secret (``mounted``) keeps its argument and index but
    gets no second volume and mount at the same path."""
    setup = SecretSetup()
    skip = set(mounted)
    for index, name in enumerate(names):
        setup.args.append(f"-imagepull={name}")
        if name in skip:
            continue
        volume = f"pull-secret-volume-{index}"
        setup.volumes.append({"name": volume, "secret": {"secretName": name}})
        setup.mounts.append({"name": volume, "mountPath": SECRET_PATH.format(name=name)})
    return setup
