"""The bench's Images, the git pushes that trigger them, and when their build pods appear.

* :class:`ImageSet` — Images of one namespace following one git repository (a push triggers all
  of them) or one repository each (a push triggers one); :func:`create` applies them and
  :func:`built` waits until the simulated kubelet has run a build of each.
* :class:`Pusher` — signed GitHub push webhooks to the triggers service, over one HTTP client
  made before anything is timed (a new client costs ~0.1 s of CPU here).
* :class:`PodClock` — a watch of one namespace's build pods noting when each was first seen, by
  Image: "pod created" for trigger → pod.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import inspect
import itertools
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from http import HTTPStatus
from typing import Any

import httpx

from contracts import builds
from services.kube import resources, watching
from services.testbed.kubelet import kubelet as simulated_kubelet
from services.testbed.sandbox import examples, harness
from services.triggers import webhooks

REPOSITORIES = "https://github.com/kiln-bench"
STALL_SECONDS = 60.0
"""A wait fails once nothing it waits for moved for this long."""
PROGRESS_SECONDS = 30.0
logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ImageSet:
    """Images ``<namespace>/app-<i>``; ``urls[i]`` is the repository Image i follows."""

    namespace: str
    urls: tuple[str, ...]

    @classmethod
    def following_one(cls, label: str, count: int) -> ImageSet:
        """``count`` Images following one repository: one push triggers them all."""
        namespace = f"bench-{label}-{uuid.uuid4().hex[:6]}"
        return cls(namespace, (f"{REPOSITORIES}/{namespace}",) * count)

    @classmethod
    def following_each_their_own(cls, label: str, count: int) -> ImageSet:
        """``count`` Images following a repository each: one push triggers one Image."""
        namespace = f"bench-{label}-{uuid.uuid4().hex[:6]}"
        return cls(namespace, tuple(f"{REPOSITORIES}/{namespace}-{i}" for i in range(count)))

    @property
    def names(self) -> list[str]:
        return [f"app-{i}" for i in range(len(self.urls))]

    def __len__(self) -> int:
        return len(self.urls)


async def create(sb: harness.Sandbox, images: ImageSet, *, in_flight: int | None = None) -> None:
    """Apply the Images (registry-cache examples on the sandbox's registry and builder), with at
    most ``in_flight`` of them waiting for their first build pod to finish (None: no limit)."""
    finished = FinishedPods(sb.kubelet.records, images.namespace)
    for index, (name, url) in enumerate(zip(images.names, images.urls, strict=True)):
        if in_flight is not None and index - finished.count >= in_flight:
            await until(finished, index - in_flight + 1, what=f"room to build {images.namespace}", poll=0.05)
        image = examples.image(
            "registry-cache",
            name=name,
            namespace=images.namespace,
            registry=sb.registry_host,
            builder=harness.BUILDER_NAME,
        )
        image["spec"]["source"]["git"]["url"] = url
        await sb.apply(image)


async def built(sb: harness.Sandbox, images: ImageSet, *, builds_each: int = 1) -> None:
    """Until the simulated kubelet has finished ``builds_each`` build pods of every Image."""
    wanted = builds_each * len(images)
    finished = FinishedPods(sb.kubelet.records, images.namespace)
    await until(finished, wanted, what=f"{wanted} finished build pods in {images.namespace}")


class FinishedPods:
    """How many build pods of one namespace the simulated kubelet has finished: call it to count
    again (only the pods it had not seen finished are looked at, so it stays cheap at 10,000)."""

    def __init__(self, records: Mapping[str, simulated_kubelet.PodRecord], namespace: str) -> None:
        self._records = records
        self._namespace = namespace
        self._looked_at = 0
        self._running: list[simulated_kubelet.PodRecord] = []
        self.count = 0

    def __call__(self) -> int:
        new = itertools.islice(self._records.values(), self._looked_at, None)
        self._running += [record for record in new if record.namespace == self._namespace]
        self._looked_at = len(self._records)
        running = [record for record in self._running if not record.done]
        self.count += len(self._running) - len(running)
        self._running = running
        return self.count


async def until(
    count: Callable[[], int | Awaitable[int]], wanted: int, *, what: str, poll: float = 0.25
) -> None:
    """Until ``count()`` reaches ``wanted``; TimeoutError once it stopped moving for STALL_SECONDS.
    A long wait logs how far it got every PROGRESS_SECONDS."""
    loop = asyncio.get_running_loop()
    last, moved = await _value(count()), loop.time()
    told = moved
    while last < wanted:
        await asyncio.sleep(poll)
        now = await _value(count())
        if now != last:
            last, moved = now, loop.time()
        elif loop.time() - moved > STALL_SECONDS:
            raise TimeoutError(f"stalled at {last} for {STALL_SECONDS:.0f} s waiting for {what}")
        if loop.time() - told > PROGRESS_SECONDS:
            logger.info("bench: %d of %d: %s", last, wanted, what)
            told = loop.time()


async def _value(found: int | Awaitable[int]) -> int:
    return await found if inspect.isawaitable(found) else found


class Pusher:
    """Signed GitHub push webhooks (a new commit on ``main``) to the sandbox's triggers service."""

    def __init__(self, sb: harness.Sandbox, http: httpx.AsyncClient) -> None:
        if sb.wiring.webhooks_url is None:
            raise RuntimeError("pushes need the triggers service in the bench process")
        self.url = f"{sb.wiring.webhooks_url}/webhooks/github"
        self.http = http
        self.commits: collections.Counter[str] = collections.Counter()

    async def push(self, repository: str) -> None:
        """The next commit of ``repository``'s main branch, as GitHub announces it."""
        self.commits[repository] += 1
        number = self.commits[repository] + 1  # commit 1 is where the Images' first builds are
        body = json.dumps(
            {
                "ref": f"refs/heads/{examples.BRANCH}",
                "before": examples.commit(number - 1),
                "after": examples.commit(number),
                "repository": {"clone_url": f"{repository}.git", "html_url": repository},
                "head_commit": {"id": examples.commit(number)},
            }
        ).encode()
        signature = webhooks.github_digest(body, secret=harness.WEBHOOK_SECRET)
        headers = {
            "Content-Type": "application/json",
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": f"sha256={signature}",
        }
        response = await self.http.post(self.url, content=body, headers=headers)
        if response.status_code != HTTPStatus.ACCEPTED:
            raise RuntimeError(f"the push webhook was refused: {response.status_code} {response.text}")


@dataclasses.dataclass
class PodClock:
    """When each build pod of one namespace was first seen (``time.monotonic``), by Image."""

    seen: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    """Image → the times its build pods were first seen, in order."""
    _uids: set[str] = dataclasses.field(default_factory=set)

    def on_pod(self, event: watching.WatchEvent[dict[str, Any]]) -> None:
        metadata = event.object.get("metadata") or {}
        uid = metadata.get("uid", "")
        if event.type == watching.DELETED or uid in self._uids:
            return
        self._uids.add(uid)
        image = (metadata.get("labels") or {}).get(builds.IMAGE_LABEL, "")
        self.seen.setdefault(image, []).append(time.monotonic())

    def first_after(self, image: str, since: float) -> float | None:
        """When Image ``image`` got its first build pod seen after ``since``, if it did."""
        return next((t for t in self.seen.get(image, []) if t > since), None)

    def pods_since(self, images: ImageSet, since: float) -> list[float]:
        """When each Image of ``images`` got its first build pod seen after ``since`` (those that did)."""
        found = (self.first_after(name, since) for name in images.names)
        return [t for t in found if t is not None]

    async def wait(self, images: ImageSet, since: float) -> list[float]:
        """Until every Image of ``images`` has a build pod seen after ``since``; those times."""
        await until(
            lambda: len(self.pods_since(images, since)),
            len(images),
            what=f"pods in {images.namespace}",
            poll=0.02,
        )
        return self.pods_since(images, since)


@contextlib.asynccontextmanager
async def watching_pods(kube: resources.Kube, images: ImageSet) -> AsyncIterator[PodClock]:
    """A :class:`PodClock` of the build pods of ``images``' namespace, once its watch streams,
    until exit (a watch of that namespace alone: the bench's own cost stays out of other phases)."""
    clock, status = PodClock(), watching.WatchStatus(f"bench pods in {images.namespace}")
    task = asyncio.create_task(
        watching.follow(
            kube.pods,
            handle=clock.on_pod,
            namespace=images.namespace,
            label_selector=builds.BUILD_LABEL,
            status=status,
        ),
        name=f"bench pod clock {images.namespace}",
    )
    try:
        await until(lambda: int(status.problem is None), 1, what=status.where, poll=0.02)
        yield clock
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
