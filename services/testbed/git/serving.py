"""A git server for tests and the sandbox: real repositories served over git's smart HTTP protocol
by ``git http-backend`` (the git binary's own CGI program) behind a small aiohttp CGI bridge on a
free port of 127.0.0.1, with optional HTTP basic auth.

    async with running_git_server(users={"alice": "s3cret"}) as server:
        repo = await server.create_repository("app")
        commit = await repo.commit({"README.md": "hello\\n"})
        server.url("app")          # http://127.0.0.1:<port>/app.git

The served repositories allow what a partial, shallow fetch of one commit needs, as GitHub and
GitLab do: ``uploadpack.allowFilter`` (``--filter=blob:none``) and
``uploadpack.allowAnySHA1InWant`` (fetch a commit by its id); both can be turned off.
:attr:`GitServer.requests` records every request (a poller's load is countable) and
:meth:`GitServer.fail_with` makes the server answer with an error status (a 503, say) until
it is told otherwise.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import dataclasses
import hmac
import logging
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

from aiohttp import web

from services.testbed.git import repositories

logger = logging.getLogger(__name__)

REALM = "kiln-git"
_CGI_TIMEOUT_SECONDS = 60.0
_HOP_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})


@dataclasses.dataclass(frozen=True)
class ServedRequest:
    """One request the server answered."""

    method: str
    path: str
    """The path, e.g. ``/app.git/info/refs``."""
    query: str
    """The query string, e.g. ``service=git-upload-pack``."""
    user: str | None
    """The authenticated user; None for an anonymous request."""
    status: int
    sent: int
    """Bytes of the response body (a fetch's pack)."""

    @property
    def repository(self) -> str:
        """The repository name the request was for (``app`` for ``/app.git/…``)."""
        return self.path.lstrip("/").split(".git/", 1)[0]


class GitServer:
    """Serves the bare repositories under :attr:`root` over smart HTTP; :meth:`start` it, then
    :meth:`stop` it (or use :func:`running_git_server`)."""

    def __init__(
        self,
        directory: Path,
        *,
        users: Mapping[str, str] | None = None,
        allow_filter: bool = True,
        allow_any_sha1_in_want: bool = True,
    ) -> None:
        """``users`` (name → password) requires HTTP basic auth on every request."""
        self.directory = directory
        self.root = directory / "repositories"
        self.root.mkdir(parents=True, exist_ok=True)
        self._work_root = directory / "work"
        self.users = dict(users or {})
        self.env = repositories.hermetic_environment(directory)
        self._backend_env = {
            **self.env,
            **_config_env(
                {
                    "uploadpack.allowFilter": "true" if allow_filter else "false",
                    "uploadpack.allowAnySHA1InWant": "true" if allow_any_sha1_in_want else "false",
                }
            ),
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
        }
        self.requests: list[ServedRequest] = []
        """Every request answered, in order."""
        self._failure: int | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, repository: str) -> str:
        """The clone URL of ``repository``: ``http://127.0.0.1:<port>/<repository>.git``."""
        return f"{self.base_url}/{repository}.git"

    async def create_repository(self, name: str) -> repositories.Repository:
        """A new empty repository served at :meth:`url` (``name`` may hold ``/``: ``org/app``)."""
        return await repositories.Repository.create(
            name, root=self.root, work_root=self._work_root, env=self.env
        )

    def fail_with(self, status: int | None) -> None:
        """Answer every request with ``status`` from now on (e.g. 503); None serves again."""
        self._failure = status

    def requests_for(self, repository: str) -> list[ServedRequest]:
        """The requests for ``repository`` so far."""
        return [r for r in self.requests if r.repository == repository]

    async def start(self) -> None:
        app = web.Application(client_max_size=256 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        logger.info("git server: serving %s on %s", self.root, self.base_url)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        user = None
        if self._failure is not None:
            response = web.Response(status=self._failure, text="failing on purpose\n")
        elif self.users and (user := self._authenticated(request)) is None:
            response = web.Response(
                status=401,
                text="authentication required\n",
                headers={"WWW-Authenticate": f'Basic realm="{REALM}"'},
            )
        else:
            response = await self._backend(request, user=user)
        self.requests.append(
            ServedRequest(
                method=request.method,
                path=request.path,
                query=request.query_string,
                user=user,
                status=response.status,
                sent=len(response.body) if isinstance(response.body, bytes) else 0,
            )
        )
        return response

    def _authenticated(self, request: web.Request) -> str | None:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            name, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        known = self.users.get(name)
        if known is None or not hmac.compare_digest(known.encode(), password.encode()):
            return None
        return name

    async def _backend(self, request: web.Request, *, user: str | None) -> web.Response:
        """Run ``git http-backend`` as a CGI program for this request."""
        body = await request.read()  # aiohttp has already undone a gzip Content-Encoding
        env = {
            **self._backend_env,
            "REQUEST_METHOD": request.method,
            "PATH_INFO": request.path,
            "QUERY_STRING": request.query_string,
            "CONTENT_TYPE": request.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": request.remote or "127.0.0.1",
            "REMOTE_USER": user or "",
            "GIT_PROTOCOL": request.headers.get("Git-Protocol", ""),
        }
        process = await asyncio.create_subprocess_exec(
            "git",
            "http-backend",
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            async with asyncio.timeout(_CGI_TIMEOUT_SECONDS):
                out, err = await process.communicate(body)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        if err:
            logger.debug("git http-backend %s: %s", request.path, err.decode(errors="replace").strip())
        return _cgi_response(out)


def _cgi_response(output: bytes) -> web.Response:
    """A CGI program's output (headers, a blank line, the body) as a response."""
    head, separator, body = output.partition(b"\r\n\r\n")
    if not separator:
        head, _, body = output.partition(b"\n\n")
    status = 200
    headers: dict[str, str] = {}
    for line in head.decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        if name.strip().lower() == "status":
            status = int(value.strip().split(" ", 1)[0])
        elif name.strip() and name.strip().lower() not in _HOP_HEADERS:
            headers[name.strip()] = value.strip()
    return web.Response(status=status, body=body, headers=headers)


def _config_env(settings: Mapping[str, str]) -> dict[str, str]:
    """Git configuration passed through the environment (``GIT_CONFIG_COUNT``, git ≥ 2.31)."""
    env = {"GIT_CONFIG_COUNT": str(len(settings))}
    for index, (key, value) in enumerate(settings.items()):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    return env


@contextlib.asynccontextmanager
async def running_git_server(
    *,
    users: Mapping[str, str] | None = None,
    allow_filter: bool = True,
    allow_any_sha1_in_want: bool = True,
    directory: Path | None = None,
) -> AsyncIterator[GitServer]:
    """A started :class:`GitServer` for the length of a ``with`` block, its repositories in
    ``directory`` (default: a temporary directory, removed afterwards)."""
    owned = directory is None
    workdir = Path(tempfile.mkdtemp(prefix="kiln-git-")) if directory is None else directory
    server = GitServer(
        workdir, users=users, allow_filter=allow_filter, allow_any_sha1_in_want=allow_any_sha1_in_want
    )
    try:
        await server.start()
        yield server
    finally:
        await server.stop()
        if owned:
            await asyncio.to_thread(shutil.rmtree, workdir, True)
