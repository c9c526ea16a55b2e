"""`Emulator`: the server on its own thread and event loop, and the Python API tests use.

The server runs on a dedicated thread so that a test's event loop (and its task-leak check)
never sees the server's connection tasks, and so that blocking callers (``subprocess.run`` of
kubectl) cannot stall it. Everything touching the store runs on the server's loop; the methods
below hop onto it and wait for the answer.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import pathlib
import ssl
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import yaml
from aiohttp import web

from services.testbed.emulator import admin, admitting, answers, faults, logs, resources, server, store

logger = logging.getLogger(__name__)
T = TypeVar("T")


class Emulator:
    """A Kubernetes API emulator for tests and the local sandbox — not an API server.

    ``store`` and ``faults`` are exposed for code running on the server's loop; from anywhere
    else use the methods (`objects`, `get`, `create`, `compact`, the fault helpers), which hop
    onto that loop.
    """

    def __init__(
        self,
        *,
        event_window: int = 10_000,
        bookmark_interval: float = 60.0,
        require_namespaces: bool = False,
        fault_seed: int = 0,
    ) -> None:
        self.store = store.Store(event_window=event_window, require_namespaces=require_namespaces)
        self.faults = faults.Faults(seed=fault_seed)
        self._context = server.Context(self.store, self.faults, bookmark_interval, store.utc_now)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (0: any free port); returns the base URL."""
        if self._thread is not None:
            raise RuntimeError("the emulator is already running")
        ready: concurrent.futures.Future[str] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=self._serve, args=(host, port, ready), name="k8s-emulator", daemon=True
        )
        self._thread.start()
        self.base_url = await asyncio.wrap_future(ready)
        logger.info("Kubernetes emulator serving on %s", self.base_url)
        return self.base_url

    async def stop(self) -> None:
        """End open watches, close connections and the server thread."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self._shutdown(), loop))
        loop.call_soon_threadsafe(loop.stop)
        await asyncio.to_thread(thread.join)
        self._thread = self._loop = None

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def _serve(self, host: str, port: int, ready: concurrent.futures.Future[str]) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            ready.set_result(loop.run_until_complete(self._listen(host, port)))
        except BaseException as e:
            ready.set_exception(e)
            loop.close()
            return
        try:
            loop.run_forever()
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()

    async def _listen(self, host: str, port: int) -> str:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app[server.CONTEXT] = self._context
        app.router.add_get("/version", server.version)
        admin.add_routes(app)
        app.router.add_post(logs.APPEND_PATH, server.append_logs)
        app.router.add_route("*", "/api{tail:.*}", server.api)
        app.router.add_route("*", "/{tail:.*}", server.openapi)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_port = self._runner.addresses[0][1]
        return f"http://{host}:{bound_port}"

    async def _shutdown(self) -> None:
        self.store.events.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # store access

    def _call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the server loop (or here, when not running or already on it)."""
        loop = self._loop
        if loop is None or threading.current_thread() is self._thread:
            return fn()
        done: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                done.set_result(fn())
            except BaseException as e:
                done.set_exception(e)

        loop.call_soon_threadsafe(run)
        return done.result(timeout=10)

    def objects(self, resource: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """Copies of the stored objects of ``resource`` (``images``, ``pods``, ``pvc``…)."""
        return self._call(lambda: self.store.copies(resources.by_name(resource), namespace))

    def count(
        self, resource: str, namespace: str | None = None, *, where: Callable[[dict[str, Any]], bool]
    ) -> int:
        """How many stored objects of ``resource`` ``where`` keeps, asked of the stored objects
        themselves (no copies: cheap enough to poll thousands); ``where`` must not change them."""
        kind = resources.by_name(resource)
        return self._call(lambda: sum(1 for obj in self.store.select(kind, namespace) if where(obj)))

    def get(self, resource: str, name: str, namespace: str = "default") -> dict[str, Any] | None:
        """A copy of one stored object, or None."""
        kind = resources.by_name(resource)
        found = self._call(lambda: self.store.find(kind, namespace if kind.namespaced else "", name))
        return None if found is None else store.copy_of(found)

    def create(
        self, body: dict[str, Any], *, resource: str | None = None, namespace: str = "default"
    ) -> dict[str, Any]:
        """Store an object directly (seeding): as a POST would, watches see it."""
        kind = resources.by_name(resource or body["kind"])
        namespace = body.get("metadata", {}).get("namespace") or namespace
        created = self._call(
            lambda: self.store.create(kind, namespace if kind.namespaced else "", store.copy_of(body))
        )
        return store.copy_of(created)

    def compact(self) -> None:
        """Forget the watch history: resuming a watch from an older version now gets 410 Gone."""
        self._call(self.store.compact)

    def append_log(self, namespace: str, pod: str, container: str, lines: list[str]) -> None:
        """Append ``lines`` to a container's log, as a kubelet would (the pod must exist)."""

        def append() -> None:
            found = self.store.get(resources.by_name("pods"), namespace, pod)
            uid = found["metadata"].get("uid", "")
            at = self._context.clock()
            self._context.logs.append(namespace, pod, uid=uid, container=container, lines=lines, at=at)

        self._call(append)

    @property
    def resource_version(self) -> int:
        return self.store.resource_version

    def answers(self) -> answers.Tally:
        """The responses so far, by status code, verb and resource (:mod:`.answers`)."""
        return self._call(self._context.answers.tally)

    # faults

    def add_fault(self, **fields: Any) -> faults.Fault:
        """Fail matching requests; fields of `faults.Fault` (verb, resource, status, count…)."""
        return self.faults.add(faults.Fault(**fields))

    def fail_next(
        self, count: int = 1, *, status: int = 500, verb: str | None = None, resource: str | None = None
    ) -> faults.Fault:
        """The next ``count`` matching requests answer ``status``."""
        return self.add_fault(verb=verb, resource=resource, status=status, count=count)

    def hang_next(
        self, count: int = 1, *, seconds: float = 30.0, verb: str | None = None, resource: str | None = None
    ) -> faults.Fault:
        """The next ``count`` matching requests hang ``seconds`` and are closed unanswered."""
        return self.add_fault(
            verb=verb, resource=resource, action="timeout", hang_seconds=seconds, count=count
        )

    def fail_fraction(
        self, probability: float, *, status: int = 500, verb: str | None = None, resource: str | None = None
    ) -> faults.Fault:
        """Fail about ``probability`` of the matching requests until `clear_faults`."""
        return self.add_fault(verb=verb, resource=resource, status=status, probability=probability)

    def call_admission(self, url: str | None, *, ssl_context: ssl.SSLContext | None = None) -> None:
        """Send kpack Image and Build writes through the admission webhook at ``url`` (None: stop),
        trusting it with ``ssl_context`` (see :mod:`services.testbed.emulator.admitting`)."""
        webhook = admitting.Webhook(url, ssl_context=ssl_context) if url else None
        self._call(lambda: setattr(self._context, "admission", webhook))

    def clear_faults(self) -> None:
        self.faults.clear()

    # kubectl

    def write_kubeconfig(self, path: str | pathlib.Path, *, namespace: str = "default") -> pathlib.Path:
        """A kubeconfig for kubectl and kubernetes-asyncio: plain http, no credentials."""
        if not self.base_url:
            raise RuntimeError("start the emulator before writing its kubeconfig")
        path = pathlib.Path(path)
        path.write_text(yaml.safe_dump(kubeconfig(self.base_url, namespace=namespace), sort_keys=False))
        return path


def kubeconfig(base_url: str, *, namespace: str = "default") -> dict[str, Any]:
    """The kubeconfig document pointing at an emulator (kubectl needs a user entry, even empty)."""
    name = "kiln-emulator"
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": base_url}}],
        "users": [{"name": name, "user": {}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name, "namespace": namespace}}],
        "current-context": name,
        "preferences": {},
    }
