"""A real distribution registry (Debian's ``docker-registry``) as a subprocess, for tests and the
sandbox: free port on 127.0.0.1, temporary storage, optional htpasswd or token auth.

    async with registry_process.running_registry(users={"alice": "s3cret"}) as registry:
        ...  # registry.host == "127.0.0.1:<port>"
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import shutil
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

logger = logging.getLogger(__name__)

BINARY = "docker-registry"


class RegistryStartError(RuntimeError):
    """The registry process did not come up; the message carries its log."""


@dataclasses.dataclass(frozen=True)
class TokenAuthSettings:
    """distribution's ``auth.token`` section: where clients get tokens and whom to trust."""

    realm: str
    """URL of the token endpoint, sent to clients in the ``WWW-Authenticate`` challenge."""
    service: str
    """Service name; tokens must carry it as ``aud``."""
    issuer: str
    """Tokens must carry it as ``iss``."""
    rootcertbundle: Path
    """PEM certificates whose public keys may sign tokens."""


@dataclasses.dataclass
class RegistryProcess:
    """A running registry; :meth:`stop` it (or use :func:`running_registry`)."""

    host: str
    """``127.0.0.1:<port>``, the host part of image references."""
    workdir: Path
    process: asyncio.subprocess.Process
    owns_workdir: bool = False

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "registry.log"

    async def stop(self, *, grace_seconds: float = 5.0) -> None:
        """Terminate and wait; kill if it has not exited after ``grace_seconds``."""
        if self.process.returncode is None:
            self.process.terminate()
            try:
                async with asyncio.timeout(grace_seconds):
                    await self.process.wait()
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self.owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


async def start_registry(
    *,
    users: Mapping[str, str] | None = None,
    token_auth: TokenAuthSettings | None = None,
    notify_url: str | None = None,
    notify_headers: Mapping[str, Sequence[str]] | None = None,
    workdir: Path | None = None,
    ready_timeout: float = 10.0,
) -> RegistryProcess:
    """Start ``docker-registry serve`` and wait until ``/v2/`` answers (any status).

    ``users`` (name → password) turns on htpasswd basic auth (bcrypt); ``token_auth`` the bearer
    token flow; ``notify_url`` sends the registry's notifications there, with ``notify_headers``
    (``{"Authorization": ["Bearer <token>"]}``) on each. Not both auths.
    """
    if users and token_auth:
        raise ValueError("choose htpasswd users or token auth, not both")
    if shutil.which(BINARY) is None:
        raise RegistryStartError(f"{BINARY} is not installed (apt-get install -y docker-registry)")
    owns = workdir is None
    directory = Path(tempfile.mkdtemp(prefix="kiln-registry-")) if workdir is None else workdir
    host = f"127.0.0.1:{free_port()}"
    settings = _config(host=host, directory=directory, notify_url=notify_url, notify_headers=notify_headers)
    if users:
        htpasswd = await asyncio.to_thread(_write_htpasswd, directory, users)
        settings["auth"] = {"htpasswd": {"realm": "kiln", "path": str(htpasswd)}}
    if token_auth:
        settings["auth"] = {"token": _token_section(token_auth)}
    config_path = directory / "config.yml"
    config_path.write_text(json.dumps(settings, indent=2))  # JSON is YAML
    with (directory / "registry.log").open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            BINARY, "serve", str(config_path), stdout=log, stderr=subprocess.STDOUT
        )
    registry = RegistryProcess(host=host, workdir=directory, process=process, owns_workdir=owns)
    try:
        await _wait_ready(registry, seconds=ready_timeout)
    except BaseException:
        await registry.stop()
        raise
    logger.info("registry: serving on %s (storage %s)", host, directory)
    return registry


@contextlib.asynccontextmanager
async def running_registry(**kwargs: Any) -> AsyncIterator[RegistryProcess]:
    """:func:`start_registry` for the length of a ``with`` block."""
    registry = await start_registry(**kwargs)
    try:
        yield registry
    finally:
        await registry.stop()


def free_port() -> int:
    """A TCP port of 127.0.0.1 free right now, for a test-bed server to listen on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(
    *,
    host: str,
    directory: Path,
    notify_url: str | None,
    notify_headers: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(directory / "data")}, "delete": {"enabled": True}},
        "http": {"addr": host, "secret": "kiln-test-registry"},
    }
    if notify_url:
        endpoint: dict[str, Any] = {
            "name": "kiln",
            "url": notify_url,
            "timeout": "1s",
            "threshold": 5,
            "backoff": "1s",
        }
        if notify_headers:
            endpoint["headers"] = {
                name: [values] if isinstance(values, str) else list(values)
                for name, values in notify_headers.items()
            }
        settings["notifications"] = {"endpoints": [endpoint]}
    return settings


def _token_section(token_auth: TokenAuthSettings) -> dict[str, str]:
    return {
        "realm": token_auth.realm,
        "service": token_auth.service,
        "issuer": token_auth.issuer,
        "rootcertbundle": str(token_auth.rootcertbundle),
    }


def _write_htpasswd(directory: Path, users: Mapping[str, str]) -> Path:
    """bcrypt entries (distribution accepts only bcrypt) via apache2-utils' ``htpasswd -Bbn``."""
    if shutil.which("htpasswd") is None:
        raise RegistryStartError("htpasswd is not installed (apt-get install -y apache2-utils)")
    lines = []
    for name, password in users.items():
        done = subprocess.run(
            ["htpasswd", "-Bbn", name, password], check=True, capture_output=True, text=True
        )
        lines.append(done.stdout.strip())
    path = directory / "htpasswd"
    path.write_text("\n".join(lines) + "\n")
    return path


async def _wait_ready(registry: RegistryProcess, *, seconds: float) -> None:
    async with httpx.AsyncClient(timeout=1.0) as http:
        try:
            async with asyncio.timeout(seconds):
                while registry.process.returncode is None:
                    with contextlib.suppress(httpx.TransportError):
                        await http.get(f"{registry.url}/v2/")
                        return
                    await asyncio.sleep(0.02)
        except TimeoutError:
            pass
    log = registry.log_path.read_text(errors="replace")[-4000:]
    raise RegistryStartError(f"registry on {registry.host} did not answer within {seconds} s; log:\n{log}")
