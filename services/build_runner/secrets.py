"""Secrets of the build's service account as build pod arguments, volumes and mounts.

A secret takes part when kpack knows what to do with it:

==============================================  ====================================
secret                                           argument
==============================================  ====================================
``kubernetes.io/basic-auth`` + ``kpack.io/docker``  ``-basic-docker=<name>=<registry>``
``kubernetes.io/dockerconfigjson``                 ``-dockerconfig=<name>``
``kubernetes.io/dockercfg``                        ``-dockercfg=<name>``
``kubernetes.io/basic-auth`` + ``kpack.io/git``    ``-basic-git=<name>=<url>``
``kubernetes.io/ssh-auth`` + ``kpack.io/git``      ``-ssh-git=<name>=<url>``
annotation ``kpack.io/blob``                       ``-blob=<name>=<url>``
==============================================  ====================================

Each one is mounted read-only at ``/var/build-secrets/<name>`` from volume
``secret-volume-<index>``; image pull secrets become ``-imagepull=<name>`` with volume
``pull-secret-volume-<index>``.
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
SECRET_PATH = "/var/build-secrets/{name}"

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
    """``kpack.io/docker``, ``kpack.io/git`` or ``kpack.io/blob`` with the registry or URL."""


@dataclasses.dataclass(frozen=True)
class SecretSetup:
    """Volumes, mounts and arguments for a group of secrets."""

    volumes: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    mounts: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    args: list[str] = dataclasses.field(default_factory=list)


def secret_arg(secret: BuildSecret, *, kinds: Iterable[Kind] = ALL_KINDS) -> str | None:
    """The argument that hands ``secret`` to build-init, completion or rebase; None to skip it."""
    wanted = set(kinds)
    notes = secret.annotations
    if "docker" in wanted:
        if secret.type == BASIC_AUTH and DOCKER_ANNOTATION in notes:
            return f"-basic-docker={secret.name}={notes[DOCKER_ANNOTATION]}"
        if secret.type == DOCKER_CONFIG_JSON:
            return f"-dockerconfig={secret.name}"
        if secret.type == DOCKER_CFG:
            return f"-dockercfg={secret.name}"
    if "git" in wanted and GIT_ANNOTATION in notes:
        if secret.type == BASIC_AUTH:
            return f"-basic-git={secret.name}={notes[GIT_ANNOTATION]}"
        if secret.type == SSH_AUTH:
            return f"-ssh-git={secret.name}={notes[GIT_ANNOTATION]}"
    if "blob" in wanted and BLOB_ANNOTATION in notes:
        return f"-blob={secret.name}={notes[BLOB_ANNOTATION]}"
    return None


def secret_setup(secrets: Sequence[BuildSecret], *, kinds: Iterable[Kind] = ALL_KINDS) -> SecretSetup:
    """Volumes, mounts and arguments of the secrets of ``kinds``, first of each name only."""
    setup = SecretSetup()
    kinds = tuple(kinds)
    seen: set[str] = set()
    for secret in secrets:
        arg = secret_arg(secret, kinds=kinds)
        if arg is None or secret.name in seen:
            continue
        seen.add(secret.name)
        volume = f"secret-volume-{len(setup.volumes)}"
        setup.volumes.append({"name": volume, "secret": {"secretName": secret.name}})
        setup.mounts.append({"name": volume, "mountPath": SECRET_PATH.format(name=secret.name)})
        setup.args.append(arg)
    return setup


def image_pull_setup(names: Sequence[str], *, taken: Iterable[str] = ()) -> SecretSetup:
    """``-imagepull=<name>`` per image pull secret not already among the build secrets."""
    setup = SecretSetup()
    skip = set(taken)
    for name in dict.fromkeys(names):
        if name in skip:
            continue
        volume = f"pull-secret-volume-{len(setup.volumes)}"
        setup.volumes.append({"name": volume, "secret": {"secretName": name}})
        setup.mounts.append({"name": volume, "mountPath": SECRET_PATH.format(name=name), "readOnly": True})
        setup.args.append(f"-imagepull={name}")
    return setup
