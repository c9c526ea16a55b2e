"""Scenario files: the outside inputs of a Kiln run, one JSON object a line, so a run can be replayed.

A scenario is what happened *to* Kiln, not what Kiln did: Images applied, pushes announced, builder
updates, manual triggers, and (optionally) events recorded from an earlier run, each line an
object whose ``op`` says which. Blank lines and lines starting with ``#`` are passed over.

========================  ================================================================
``op``                    fields (all but ``op`` optional unless marked *)
========================  ================================================================
``scenario``              ``name``\\*, ``description``, ``namespace`` (default ``chaos``):
                          the header, the first line if present
``builder``               ``name`` (``default``), ``buildpacks``: a ready ClusterBuilder whose
                          image is pushed to the run's registry
``image``                 ``name``\\*, ``cache`` (``registry`` | ``volume``), ``repository``
                          (a git URL, default the examples' one), ``branch`` (``main``),
                          ``builder`` (``default``): an Image applied
``git-push``              ``repository``\\*, ``commit``\\* (a number: the n-th commit),
                          ``branch``: the signed GitHub push webhook a git host sends
``webhook-push``          ``repository``\\*, ``commit``\\*, ``branch``: the generic webhook
                          (bearer token) any CI tool sends
``builder-update``        ``name`` (``default``), ``buildpacks``\\*: a new builder image pushed
                          and the ClusterBuilder's status written, as kpack's builder
                          controller does on a new buildpack or stack
``trigger``               ``image``\\*: a manual trigger (``kiln trigger``, ``kp image trigger``)
``event``                 ``event``\\*: a recorded CloudEvent in the saved form of
                          ``kiln events export``, published again as it was (same id)
``quiesce``               ``seconds`` (the longest wait, default 60): wait until nothing moves
========================  ================================================================

Each input but ``quiesce`` and ``builder`` is expected to cause Builds (:func:`expected_effects`):
an Image its CONFIG build, a push one COMMIT build per Image following the pushed branch, a
builder update one BUILDPACK build per Image built with it, a trigger one TRIGGER build, a
recorded ``kiln.source.changed`` one COMMIT build. A trigger should come after a ``quiesce``
(it annotates the Image's newest Build). Two inputs should not cause the same (Image, reason,
revision, builder): that is how a duplicate Build is told from a second one that was asked for.

Pure: parsing only; :class:`ScenarioError` lists every bad line with its number.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from contracts import events
from services.broker import event_log
from services.testbed.sandbox import examples

DEFAULT_NAMESPACE = "chaos"
REPOSITORY = examples.GIT_URL


class _Step(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class Header(_Step):
    op: Literal["scenario"]
    name: str = Field(min_length=1, max_length=63, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    """The scenario's name: what the chaos table shows."""
    description: str = ""
    namespace: str = Field(default=DEFAULT_NAMESPACE, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    """Where the scenario's Images live."""


class Buildpack(_Step):
    id: str = Field(min_length=1)
    version: str = Field(min_length=1)


class Builder(_Step):
    op: Literal["builder"]
    name: str = "default"
    buildpacks: tuple[Buildpack, ...] = ()
    """The builder image's buildpacks (empty: the examples' Go buildpack)."""


class Image(_Step):
    op: Literal["image"]
    name: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    cache: Literal["registry", "volume"] = "registry"
    repository: str = REPOSITORY
    branch: str = examples.BRANCH
    builder: str = "default"


class GitPush(_Step):
    op: Literal["git-push"]
    repository: str
    commit: int = Field(ge=2)
    """The n-th commit of the branch (the first is what an Image is created at)."""
    branch: str = examples.BRANCH


class WebhookPush(_Step):
    op: Literal["webhook-push"]
    repository: str
    commit: int = Field(ge=2)
    branch: str = examples.BRANCH


class BuilderUpdate(_Step):
    op: Literal["builder-update"]
    name: str = "default"
    buildpacks: tuple[Buildpack, ...] = Field(min_length=1)


class Trigger(_Step):
    op: Literal["trigger"]
    image: str


class RecordedEvent(_Step):
    op: Literal["event"]
    event: dict[str, Any]
    """The saved form: CloudEvents attributes beside ``data``."""

    def parsed(self) -> events.Event[events.Payload]:
        return event_log.parse_line(json.dumps(self.event))


class Quiesce(_Step):
    op: Literal["quiesce"]
    seconds: float = Field(default=60.0, gt=0)


Step = Annotated[
    Builder | Image | GitPush | WebhookPush | BuilderUpdate | Trigger | RecordedEvent | Quiesce,
    Field(discriminator="op"),
]
Input = Image | GitPush | WebhookPush | BuilderUpdate | Trigger | RecordedEvent
"""The steps that are expected to cause Builds."""
_STEP: pydantic.TypeAdapter[Step] = pydantic.TypeAdapter(Step)


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    namespace: str
    steps: tuple[Step, ...]
    description: str = ""

    @property
    def inputs(self) -> list[tuple[int, Input]]:
        """(step index, step) of each input expected to cause Builds."""
        return [(i, s) for i, s in enumerate(self.steps) if not isinstance(s, Builder | Quiesce)]

    @property
    def recorded_events(self) -> int:
        return sum(isinstance(s, RecordedEvent) for s in self.steps)


@dataclasses.dataclass(frozen=True)
class LineError:
    number: int
    message: str

    def __str__(self) -> str:
        return f"line {self.number}: {self.message}"


class ScenarioError(ValueError):
    """A scenario file that cannot be run; ``errors`` has one entry per bad line."""

    def __init__(self, source: str, errors: Sequence[LineError]) -> None:
        self.source = source
        self.errors = tuple(errors)
        super().__init__("\n".join(f"{source}: {e}" for e in errors))


def parse(lines: Iterable[str], *, source: str = "<scenario>") -> Scenario:
    """The scenario in ``lines``; :class:`ScenarioError` names every line that is not a step."""
    header: Header | None = None
    steps: list[Step] = []
    numbers: list[int] = []
    errors: list[LineError] = []
    for number, text in enumerate(lines, start=1):
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        try:
            document = json.loads(text)
        except json.JSONDecodeError as e:
            errors.append(LineError(number, f"not JSON: {e.msg} at column {e.colno}"))
            continue
        if not isinstance(document, dict):
            errors.append(LineError(number, f"a JSON {type(document).__name__}, not an object"))
            continue
        problem, parsed = _step(document, first=not steps and header is None)
        if problem:
            errors.append(LineError(number, problem))
        elif isinstance(parsed, Header):
            header = parsed
        elif parsed is not None:
            steps.append(parsed)
            numbers.append(number)
    errors += _consistency(steps, numbers)
    if header is None and not errors:
        errors.append(LineError(1, 'no header: the first line must be {"op": "scenario", "name": …}'))
    if errors:
        raise ScenarioError(source, errors)
    assert header is not None
    return Scenario(header.name, header.namespace, tuple(steps), header.description)


def _step(document: Mapping[str, Any], *, first: bool) -> tuple[str, Header | Step | None]:
    if document.get("op") == "scenario":
        if not first:
            return "the scenario header must be the first line", None
        try:
            return "", Header.model_validate(document)
        except pydantic.ValidationError as e:
            return _message(e), None
    try:
        step = _STEP.validate_python(document)
    except pydantic.ValidationError as e:
        return _message(e), None
    if isinstance(step, RecordedEvent):
        try:
            step.parsed()
        except events.InvalidEventError as e:
            return f"event: {e}", None
    return "", step


def _message(error: pydantic.ValidationError) -> str:
    parts = []
    for item in error.errors(include_url=False):
        loc = item["loc"]
        if loc and isinstance(document_op := loc[0], str) and document_op in _OPS.split(", "):
            loc = loc[1:]  # the union's tag: the op, which the line names already
        where = ".".join(str(p) for p in loc)
        if item["type"] == "union_tag_invalid":
            parts.append(f"op: {item['ctx']['tag']!r} is not one of {_OPS}")
        elif item["type"] == "union_tag_not_found":
            parts.append("op: missing")
        else:
            parts.append(f"{where}: {item['msg']}" if where else item["msg"])
    return "; ".join(parts)


_OPS = "scenario, builder, image, git-push, webhook-push, builder-update, trigger, event, quiesce"


def _consistency(steps: Sequence[Step], numbers: Sequence[int]) -> list[LineError]:
    """Steps that name what no line before them made: an Image's builder, a trigger's Image, an
    Image applied twice."""
    found: list[LineError] = []
    builders: set[str] = set()
    images: set[str] = set()
    for number, step in zip(numbers, steps, strict=True):
        if isinstance(step, Builder):
            builders.add(step.name)
        elif isinstance(step, Image):
            if step.builder not in builders:
                found.append(LineError(number, f"image {step.name}: no builder {step.builder!r} before it"))
            if step.name in images:
                found.append(LineError(number, f"image {step.name}: applied before"))
            images.add(step.name)
        elif isinstance(step, BuilderUpdate) and step.name not in builders:
            found.append(LineError(number, f"builder-update: no builder {step.name!r} before it"))
        elif isinstance(step, Trigger) and step.image not in images:
            found.append(LineError(number, f"trigger: no Image {step.image!r} before it"))
    return found
