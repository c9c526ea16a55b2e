"""``Kubelet``: the SIMULATED kubelet's loop — watch build pods, drive each, record what ran.

    async with Kubelet(kube, registry, config=KubeletConfig(step_seconds=0.02)) as kubelet:
        async with asyncio.timeout(10):
            record = await kubelet.wait_finished("ns", "my-build-build-pod")
        record.cache_args()  # {"prepare": [], "analyze": ["-cache-image=…"], …}

Each new build pod goes: Pending (init steps waiting, then each running and terminated in turn,
``step_seconds`` apiece) → Running (the completion container) → Succeeded, or Failed at the
step the failure plan names (exit code and message in that container's terminated state).
Each step's log lines are written as it starts (and, for the image step and a failing step, as
it ends), always before the container's next state, so a reader following a container until it
terminates misses none.

The kubelet follows one watch of the build pods still ``Pending`` (``fieldSelector
status.phase=Pending``, as a real kubelet watches only its node's pods): the list that opens it,
on start and after any ``410 Gone``, brings every pod created while the kubelet was down; a pod it
has moved past Pending leaves the watch (and its cache). It used to list every build pod every
10 s besides, which at 1,000 Images was a tenth of the test bed's CPU and held every pod ever run
in the watch's cache.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from contracts import builds
from services import errors
from services.kube import resources, watching
from services.registry import client as registry_client
from services.registry import config as registry_config
from services.testbed.kubelet import build_pods, failures, log_writing, pushing, statuses, step_logs

logger = logging.getLogger(__name__)


UNSTARTED = "status.phase=Pending"
"""The field selector of the pods the kubelet watches: those nobody has run yet (and those it runs
through their init steps)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclasses.dataclass(frozen=True)
class KubeletConfig:
    """How the simulation behaves."""

    step_seconds: float = 0.05
    """Seconds each step runs (and a pod waits before its first step)."""
    namespace: str | None = None
    """Namespace whose build pods to run; None: every namespace."""
    fail: failures.FailurePlan = failures.from_annotations
    """Which pods fail, where: by default the ``kubelet.kiln.dev/fail-at`` annotation."""
    restart_delay: float = 1.0
    """Seconds before watching again when the watch gave up on the API server."""
    write_logs: bool = True
    """Whether each step writes its log lines (:mod:`.step_logs`) to the emulator."""


@dataclasses.dataclass
class StepRecord:
    """One step as it was started: its arguments (cache flags apart) and how it ended."""

    name: str
    args: list[str]
    cache_args: list[str]
    exit_code: int | None = None


@dataclasses.dataclass
class PodRecord:
    """What the kubelet did with one pod."""

    namespace: str
    name: str
    build: str
    uid: str
    steps: list[StepRecord] = dataclasses.field(default_factory=list)
    phase: str = "Pending"
    pushed: pushing.Pushed | None = None
    termination_message: str = ""
    done: bool = False

    def cache_args(self) -> dict[str, list[str]]:
        """Cache flags each step was started with, by step name."""
        return {step.name: step.cache_args for step in self.steps}


@dataclasses.dataclass
class _Run:
    """The container states of one pod as they evolve."""

    pod: dict[str, Any]
    started: datetime
    init: list[dict[str, Any]]
    main: list[dict[str, Any]]
    builder: registry_config.ImageConfig | None = None
    """The builder image's config (its buildpacks), for the steps' log lines."""

    @classmethod
    def of(cls, pod: dict[str, Any], *, started: datetime) -> _Run:
        init = [statuses.waiting() for _ in build_pods.init_containers(pod)]
        return cls(pod, started, init, [statuses.waiting() for _ in build_pods.containers(pod)])

    def status(self, phase: str) -> dict[str, Any]:
        pairs = zip(build_pods.init_containers(self.pod), self.init, strict=True)
        main = zip(build_pods.containers(self.pod), self.main, strict=True)
        return statuses.pod_status(
            phase,
            started=self.started,
            init=[statuses.container_status(spec, state) for spec, state in pairs],
            containers=[statuses.container_status(spec, state) for spec, state in main],
        )


class Kubelet:
    """Runs build pods found through ``kube`` against ``registry``; ``start`` … ``stop``."""

    def __init__(
        self,
        kube: resources.Kube,
        registry: registry_client.RegistryClient,
        *,
        config: KubeletConfig | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.kube = kube
        self.registry = registry
        self.config = config or KubeletConfig()
        self.clock = clock
        self.records: dict[str, PodRecord] = {}
        """Every pod driven, by ``namespace/name``."""
        self._serial = itertools.count(1)
        self._builder_configs = pushing.BuilderConfigs()
        self._logs = log_writing.LogWriter(kube)
        self._changed = asyncio.Condition()
        self._watcher: asyncio.Task[None] | None = None
        self._runs: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        if self._watcher is None:
            self._watcher = asyncio.create_task(self._watch(), name="simulated-kubelet")

    async def stop(self) -> None:
        """Stop watching and abandon the pods still running; waits for every task to end."""
        tasks = [*self._runs, *([self._watcher] if self._watcher is not None else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._watcher = None

    async def __aenter__(self) -> Kubelet:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def record(self, namespace: str, name: str) -> PodRecord | None:
        return self.records.get(f"{namespace}/{name}")

    async def wait_finished(self, namespace: str, name: str) -> PodRecord:
        """The record of pod ``name`` once the kubelet is done with it (bound it: ``asyncio.timeout``)."""
        key = f"{namespace}/{name}"
        async with self._changed:
            await self._changed.wait_for(lambda: key in self.records and self.records[key].done)
        return self.records[key]

    async def _watch(self) -> None:
        await watching.follow(
            self.kube.pods.with_fields(UNSTARTED),
            handle=self._on_pod,
            namespace=self.config.namespace,
            label_selector=builds.BUILD_LABEL,
            restart_delay=self.config.restart_delay,
        )

    def _on_pod(self, event: watching.WatchEvent[dict[str, Any]]) -> None:
        pod = event.object
        metadata = pod.get("metadata") or {}
        key = f"{metadata.get('namespace', '')}/{metadata.get('name', '')}"
        known = self.records.get(key)
        # a pod made again under the same name (its Build's pod was deleted while it ran) is run anew
        if event.type == watching.DELETED or (known is not None and known.uid == metadata.get("uid", "")):
            return
        if not (build_pods.is_build_pod(pod) and build_pods.is_unstarted(pod)):
            return
        self.records[key] = PodRecord(
            namespace=metadata.get("namespace", ""),
            name=metadata.get("name", ""),
            build=build_pods.build_name(pod),
            uid=metadata.get("uid", ""),
        )
        task = asyncio.create_task(self._drive(pod, self.records[key]), name=f"simulated-pod {key}")
        self._runs.add(task)
        task.add_done_callback(self._runs.discard)

    async def _drive(self, pod: dict[str, Any], record: PodRecord) -> None:
        try:
            await self._run(pod, record)
        except errors.NotFoundError:
            logger.info("simulated kubelet: pod %s/%s is gone", record.namespace, record.name)
            record.phase = "Deleted"
        except errors.KilnError:
            logger.exception("simulated kubelet: could not drive %s/%s", record.namespace, record.name)
        finally:
            record.done = True
            async with self._changed:
                self._changed.notify_all()

    async def _run(self, pod: dict[str, Any], record: PodRecord) -> None:
        run = _Run.of(pod, started=self.clock())
        failure = self.config.fail(pod)
        if self.config.write_logs and build_pods.container(pod, "detect"):
            run.builder = await pushing.builder_config(self.registry, pod, configs=self._builder_configs)
        await self._write(record, run.status("Pending"))
        await asyncio.sleep(self.config.step_seconds)
        for index, spec in enumerate(build_pods.init_containers(pod)):
            if not await self._step(record, run, index=index, spec=spec, failure=failure):
                return
        await self._complete(record, run, failure=failure)

    async def _step(
        self,
        record: PodRecord,
        run: _Run,
        *,
        index: int,
        spec: dict[str, Any],
        failure: failures.Failure | None,
    ) -> bool:
        """Run init container ``index``; False when it failed (and the pod with it)."""
        name, started = str(spec.get("name", "")), self.clock()
        step = StepRecord(name, [str(a) for a in spec.get("args") or []], build_pods.cache_args(spec))
        record.steps.append(step)
        run.init[index] = statuses.running(started)
        await self._write(record, run.status("Pending"))
        await self._log(record, name, step_logs.opening(run.pod, name, builder=run.builder))
        await asyncio.sleep(self.config.step_seconds)
        exit_code, message = 0, ""
        if failure is not None and failure.step == name and failure.hold:
            await self._hold(record)
        if failure is not None and failure.step == name:
            exit_code, message = failure.exit_code, failure.termination_message()
        elif name in build_pods.PUSHING_STEPS:
            exit_code, message = await self._push(record, run.pod, step=name)
        if exit_code != 0:
            await self._log(record, name, step_logs.failure(message))
        elif record.pushed is not None and name in build_pods.PUSHING_STEPS:
            pushed = record.pushed
            lines = step_logs.pushed(
                run.pod,
                image_digest=pushed.image_digest,
                cache_tag=pushed.cache_tag,
                cache_digest=pushed.cache_digest,
            )
            await self._log(record, name, lines)
        step.exit_code = exit_code
        run.init[index] = statuses.terminated(
            exit_code=exit_code, started=started, finished=self.clock(), message=message
        )
        if exit_code != 0:
            await self._write(record, run.status("Failed"))
        return exit_code == 0

    async def _hold(self, record: PodRecord) -> None:
        """Keep the step running until the pod is deleted (then NotFoundError ends the drive); a new
        pod of the same name is another pod."""
        while True:
            found = await self.kube.pods.find(record.name, namespace=record.namespace)
            if found is None or (found.get("metadata") or {}).get("uid") != record.uid:
                break
            await asyncio.sleep(max(self.config.step_seconds, 0.05))
        raise errors.NotFoundError(f"pod {record.namespace}/{record.name} deleted while held")

    async def _push(self, record: PodRecord, pod: dict[str, Any], *, step: str) -> tuple[int, str]:
        try:
            record.pushed = await pushing.push_images(
                self.registry, pod, step=step, serial=next(self._serial), now=self.clock()
            )
        except errors.KilnError as e:
            logger.warning("simulated %s of %s/%s failed: %s", step, record.namespace, record.name, e)
            return 1, f"ERROR: failed to write image: {e}"
        return 0, ""

    async def _complete(self, record: PodRecord, run: _Run, *, failure: failures.Failure | None) -> None:
        """Run the containers (``completion``): its termination message is the build metadata."""
        started = self.clock()
        run.main = [statuses.running(started) for _ in run.main]
        await self._write(record, run.status("Running"))
        completion = build_pods.COMPLETION
        await self._log(record, completion, step_logs.opening(run.pod, completion, builder=run.builder))
        await asyncio.sleep(self.config.step_seconds)
        exit_code, message = 0, ""
        if failure is not None and failure.step == build_pods.COMPLETION:
            exit_code, message = failure.exit_code, failure.termination_message()
        else:
            try:
                message = await pushing.completion_message(
                    self.registry, run.pod, configs=self._builder_configs, pushed=record.pushed
                )
            except errors.KilnError as e:
                exit_code, message = 1, f"completion failed: {e}"
        record.termination_message = message if exit_code == 0 else ""
        if exit_code != 0:
            await self._log(record, completion, step_logs.failure(message))
        finished = self.clock()
        run.main = [
            statuses.terminated(exit_code=exit_code, started=started, finished=finished, message=message)
            for _ in run.main
        ]
        await self._write(record, run.status("Succeeded" if exit_code == 0 else "Failed"))

    async def _log(self, record: PodRecord, container: str, lines: list[str]) -> None:
        """Append ``lines`` to the container's log (before its state changes, so a reader that
        follows it until it terminates gets them all)."""
        if self.config.write_logs:
            await self._logs.append(record.namespace, record.name, uid=record.uid, lines={container: lines})

    async def _write(self, record: PodRecord, status: dict[str, Any]) -> None:
        """Write the pod's status through the ``pods/status`` subresource."""
        await self.kube.pods.patch_status(record.name, {"status": status}, namespace=record.namespace)
        record.phase = status["phase"]
