"""Container logs: what a (simulated) kubelet appends, served as ``GET …/pods/{name}/log``.

A real API server proxies a log request to the kubelet of the pod's node; here the kubelet hands
its lines to the emulator instead (`LogStore.append`, from Python through ``Emulator.append_log``
or over HTTP: ``POST /_emulator/logs/namespaces/{namespace}/pods/{name}`` with
``{"uid": "…", "containers": {"step": ["line", …]}}``), and :func:`serve` answers the read as
the API server does:

* plain text, one line per line; ``timestamps=true`` puts each line's RFC 3339 time before it;
  ``tailLines`` keeps the last lines, ``sinceSeconds`` the recent ones, ``limitBytes`` cuts;
* ``container`` names the container; without it a pod of one container means that one, any
  other pod is 400 naming its containers, as Kubernetes words it; an unknown container is 400,
  a container still waiting to start 400 ``is waiting to start: PodInitializing``, a missing
  pod 404;
* ``follow=true`` streams new lines until the container terminates (or the pod is deleted).

Logs belong to one pod by uid: a pod made again under the same name starts with none, and a
write for the old uid is refused (409). The store forgets the oldest pods past ``max_pods``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
from collections.abc import Callable, Iterator
from typing import Any

from aiohttp import web

from services.testbed.emulator import resources, statuses, store

FOLLOW_POLL_SECONDS = 0.2
"""How often a follow re-reads the container's state when no line arrives."""
PODS = resources.by_name("pods")


@dataclasses.dataclass(frozen=True)
class Line:
    """One line a container wrote, and when."""

    at: datetime.datetime
    text: str


@dataclasses.dataclass
class _PodLogs:
    uid: str
    containers: dict[str, list[Line]] = dataclasses.field(default_factory=dict)
    waiters: set[asyncio.Event] = dataclasses.field(default_factory=set)


class LogStore:
    """Lines by pod (namespace, name, uid) and container; used on the emulator's loop only."""

    def __init__(self, *, max_pods: int = 4096) -> None:
        self._pods: dict[tuple[str, str], _PodLogs] = {}
        self._max_pods = max_pods

    def append(
        self, namespace: str, pod: str, *, uid: str, container: str, lines: list[str], at: datetime.datetime
    ) -> None:
        """Add ``lines`` to ``container`` of the pod with ``uid`` (a new uid forgets the old pod's)."""
        key = (namespace, pod)
        logs = self._pods.get(key)
        if logs is None or logs.uid != uid:
            waiters = logs.waiters if logs is not None else set()
            logs = self._pods[key] = _PodLogs(uid, waiters=waiters)
            while len(self._pods) > self._max_pods:
                del self._pods[next(iter(self._pods))]
        written = logs.containers.setdefault(container, [])
        written.extend(Line(at, text) for text in lines)
        for waiter in logs.waiters:
            waiter.set()

    def lines(self, namespace: str, pod: str, *, uid: str, container: str) -> list[Line]:
        logs = self._pods.get((namespace, pod))
        if logs is None or logs.uid != uid:
            return []
        return list(logs.containers.get(container, ()))

    @contextlib.contextmanager
    def listening(self, namespace: str, pod: str) -> Iterator[asyncio.Event]:
        """An event set whenever a line is appended to the pod (the caller clears it)."""
        logs = self._pods.setdefault((namespace, pod), _PodLogs(uid=""))
        event = asyncio.Event()
        logs.waiters.add(event)
        try:
            yield event
        finally:
            logs.waiters.discard(event)


@dataclasses.dataclass(frozen=True)
class Options:
    """The query of a log request (``PodLogOptions``)."""

    container: str = ""
    follow: bool = False
    timestamps: bool = False
    tail_lines: int | None = None
    since_seconds: int | None = None
    limit_bytes: int | None = None

    @classmethod
    def parse(cls, query: Any) -> Options:
        def flag(name: str) -> bool:
            return str(query.get(name, "")).lower() in ("true", "1")

        def number(name: str) -> int | None:
            raw = query.get(name)
            if raw is None or raw == "":
                return None
            try:
                value = int(raw)
            except ValueError:
                raise statuses.bad_request(f"{name}: Invalid value: {raw!r}: must be an integer") from None
            if value < 0 or (value == 0 and name != "tailLines"):
                raise statuses.bad_request(f"{name}: Invalid value: {value}: must be greater than 0")
            return value

        if flag("previous"):
            raise statuses.bad_request("previous terminated container logs are not kept by this emulator")
        return cls(
            container=str(query.get("container", "")),
            follow=flag("follow"),
            timestamps=flag("timestamps"),
            tail_lines=number("tailLines"),
            since_seconds=number("sinceSeconds"),
            limit_bytes=number("limitBytes"),
        )


def _names(specs: list[dict[str, Any]]) -> list[str]:
    return [str(spec.get("name", "")) for spec in specs]


def container_of(pod: dict[str, Any], wanted: str) -> str:
    """The container a request reads: ``wanted``, or the pod's only container; 400 otherwise."""
    name = pod["metadata"]["name"]
    spec = pod.get("spec") or {}
    main, init = _names(spec.get("containers") or []), _names(spec.get("initContainers") or [])
    if not wanted:
        if len(main) == 1:
            return main[0]
        message = f"a container name must be specified for pod {name}, choose one of: [{' '.join(main)}]"
        if init:
            message += f" or one of the init containers: [{' '.join(init)}]"
        raise statuses.bad_request(message)
    if wanted not in main and wanted not in init:
        raise statuses.bad_request(f"container {wanted} is not valid for pod {name}")
    return wanted


def state_of(pod: dict[str, Any], container: str) -> dict[str, Any]:
    """The container's ``state`` in the pod's status (empty when it has none yet)."""
    status = pod.get("status") or {}
    for entry in [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]:
        if entry.get("name") == container:
            return dict(entry.get("state") or {})
    return {}


def refuse_waiting(pod: dict[str, Any], container: str) -> None:
    """400 as the kubelet answers for a container that has not started."""
    state = state_of(pod, container)
    if "running" in state or "terminated" in state:
        return
    reason = (state.get("waiting") or {}).get("reason") or "ContainerCreating"
    name = pod["metadata"]["name"]
    raise statuses.bad_request(f'container "{container}" in pod "{name}" is waiting to start: {reason}')


def select(lines: list[Line], options: Options, *, now: datetime.datetime) -> list[Line]:
    """The lines ``sinceSeconds`` and ``tailLines`` keep."""
    if options.since_seconds is not None:
        oldest = now - datetime.timedelta(seconds=options.since_seconds)
        lines = [line for line in lines if line.at >= oldest]
    if options.tail_lines is not None:
        lines = lines[len(lines) - options.tail_lines :] if options.tail_lines else []
    return lines


def encode(lines: list[Line], *, timestamps: bool) -> bytes:
    """The lines as the API answers them: one a line, each after its time with ``timestamps``."""
    return "".join(_line(line, timestamps=timestamps) for line in lines).encode()


def _line(line: Line, *, timestamps: bool) -> str:
    if not timestamps:
        return f"{line.text}\n"
    stamp = line.at.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return f"{stamp}000Z {line.text}\n"


class _Budget:
    """What ``limitBytes`` leaves to send."""

    def __init__(self, limit: int | None) -> None:
        self.left = limit

    def take(self, data: bytes) -> bytes:
        if self.left is None:
            return data
        data = data[: self.left]
        self.left -= len(data)
        return data

    @property
    def spent(self) -> bool:
        return self.left == 0


async def serve(
    request: web.Request,
    *,
    objects: store.Store,
    logs: LogStore,
    namespace: str,
    name: str,
    clock: Callable[[], datetime.datetime],
) -> web.StreamResponse:
    """``GET /api/v1/namespaces/{namespace}/pods/{name}/log``."""
    if request.method != "GET":
        raise statuses.ApiError(405, "MethodNotAllowed", f"the server does not allow {request.method} here")
    options = Options.parse(request.query)
    pod = objects.get(PODS, namespace, name)
    container = container_of(pod, options.container)
    refuse_waiting(pod, container)
    uid = pod["metadata"].get("uid", "")
    written = logs.lines(namespace, name, uid=uid, container=container)
    chosen = select(written, options, now=clock())
    budget = _Budget(options.limit_bytes)
    first = budget.take(encode(chosen, timestamps=options.timestamps))
    if not options.follow or "terminated" in state_of(pod, container) or budget.spent:
        return web.Response(body=first, content_type="text/plain", charset="utf-8")
    response = web.StreamResponse(headers={"Content-Type": "text/plain; charset=utf-8"})
    await response.prepare(request)
    if first:
        await response.write(first)
    follow = _Follow(objects, logs, pod=pod, container=container, sent=len(written))
    await follow.stream(response, timestamps=options.timestamps, budget=budget)
    await response.write_eof()
    return response


@dataclasses.dataclass
class _Follow:
    """A ``follow=true`` read past the lines already sent."""

    objects: store.Store
    logs: LogStore
    pod: dict[str, Any]
    container: str
    sent: int

    async def stream(self, response: web.StreamResponse, *, timestamps: bool, budget: _Budget) -> None:
        """Each new line, until the container terminates, the pod goes or the budget is spent."""
        metadata = self.pod["metadata"]
        namespace, name, uid = metadata["namespace"], metadata["name"], metadata.get("uid", "")
        with self.logs.listening(namespace, name) as appended:
            while True:
                appended.clear()
                over = self._over(namespace, name, uid)
                lines = self.logs.lines(namespace, name, uid=uid, container=self.container)
                fresh, self.sent = lines[self.sent :], len(lines)
                chunk = budget.take(encode(fresh, timestamps=timestamps))
                if chunk:
                    await response.write(chunk)
                if over or budget.spent:
                    return
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(FOLLOW_POLL_SECONDS):
                        await appended.wait()

    def _over(self, namespace: str, name: str, uid: str) -> bool:
        """Whether the container has terminated (read before its last lines, so none is lost)."""
        current = self.objects.find(PODS, namespace, name)
        if current is None or current["metadata"].get("uid") != uid:
            return True
        return "terminated" in state_of(current, self.container)


APPEND_PATH = "/_emulator/logs/namespaces/{namespace}/pods/{name}"


async def append(
    request: web.Request, *, objects: store.Store, logs: LogStore, clock: Callable[[], datetime.datetime]
) -> web.Response:
    """``POST`` `APPEND_PATH`: a kubelet's lines, ``{"uid": "…", "containers": {"name": [lines]}}``."""
    namespace, name = request.match_info["namespace"], request.match_info["name"]
    try:
        body = await request.json()
        uid = str(body.get("uid") or "")
        containers = {str(c): [str(line) for line in lines] for c, lines in dict(body["containers"]).items()}
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        message = f'the body must be {{"uid": "...", "containers": {{"name": ["line", ...]}}}}: {e}'
        return web.json_response({"error": message}, status=400)
    pod = objects.find(PODS, namespace, name)
    if pod is None:
        return web.json_response({"error": f'pods "{name}" not found'}, status=404)
    current = str(pod["metadata"].get("uid", ""))
    if uid and current != uid:
        return web.json_response({"error": f'pod "{name}" is no longer the pod with uid {uid}'}, status=409)
    at = clock()
    for container, lines in containers.items():
        logs.append(namespace, name, uid=current, container=container, lines=lines, at=at)
    return web.json_response({"lines": sum(len(lines) for lines in containers.values())}, status=201)
