"""The commands over Kiln's pure core: validate, convert, plan, render-pod, schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, TypeVar

import pydantic
import typer

from contracts import (
    admission,
    builder_admission,
    builder_images,
    builders,
    builds,
    conversion,
    events,
    images,
    meta,
    source_resolvers,
    sources,
)
from services.build_runner import pods
from services.cli import common
from services.image_reconciler import reconcile

CONVERTED_KINDS = (images.KIND, builds.KIND)
"""Validated at kpack.io/v1alpha1 too, through conversion."""
VALIDATED_KINDS = (*CONVERTED_KINDS, *builder_admission.KINDS)
M = TypeVar("M", bound=pydantic.BaseModel)


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
    app.command("convert")(convert)
    app.command("plan")(plan)
    app.command("render-pod")(render_pod)
    app.command("schema")(schema)


def validate(
    file: Annotated[
        Path,
        typer.Argument(
            help="kpack document(s), YAML or JSON: Images, Builds, and the builder half's ClusterStores, "
            "ClusterStacks, ClusterLifecycles, Buildpacks, ClusterBuildpacks, Builders, ClusterBuilders"
        ),
    ],
    old: Annotated[Path | None, typer.Option(help="the current object(s), to validate an update")] = None,
    default_storage_class: Annotated[
        bool, typer.Option(help="the cluster has a default StorageClass (adds the 2G volume cache)")
    ] = False,
    output: common.OutputOption = "yaml",
) -> None:
    """Admission as kpack's webhook does it: defaults, then validation. Prints the defaulted objects.

    Images and Builds are read at kpack.io/v1alpha1 or v1alpha2, the builder half's kinds at
    kpack.io/v1alpha2 only (kpack's webhook admits no other version of them)."""
    docs = common.load_some(file)
    olds = common.load_some(old) if old is not None else []
    if olds and len(olds) != len(docs):
        common.fail(f"--old: expected {len(docs)} document(s) to match {file}, found {len(olds)}")
    ctx = admission.AdmissionContext(has_default_storage_class=default_storage_class)
    results: list[Any] = []
    problems: list[str] = []
    for index, doc in enumerate(docs):
        label = _label(doc, index) if len(docs) > 1 else ""
        try:
            results.append(_admit(doc, old=olds[index] if olds else None, ctx=ctx))
        except _Rejected as e:
            problems.extend(f"{label}{line}" for message in e.messages for line in message.splitlines())
    if problems:
        common.fail(problems)
    common.emit(results, output=output)


class _Rejected(Exception):
    def __init__(self, messages: list[str]) -> None:
        super().__init__("\n".join(messages))
        self.messages = messages


def _admit(doc: dict[str, Any], *, old: dict[str, Any] | None, ctx: admission.AdmissionContext) -> Any:
    version, kind = doc.get("apiVersion"), doc.get("kind")
    if version not in conversion.VERSIONS or kind not in VALIDATED_KINDS:
        expected = f"{', '.join(VALIDATED_KINDS[:-1])} or {VALIDATED_KINDS[-1]}"
        raise _Rejected([f"kind: expected a kpack.io {expected}, got {version} {kind}"])
    if kind in builder_admission.KINDS:
        return _admit_builder_half(doc, kind=str(kind), version=str(version))
    hub, old_hub = _to_hub(doc), _to_hub(old) if old is not None else None
    # A v1alpha2 document is a user's request. kpack's webhook never sees a v1alpha1 one
    # (matchPolicy: Exact); it is checked as Kiln checks a stored object.
    ctx = ctx.model_copy(update={"user_request": version == meta.V1ALPHA2})
    if kind == images.KIND:
        image = admission.default_image(_model(images.Image, hub), ctx)
        old_image = _model(images.Image, old_hub) if old_hub is not None else None
        error = admission.validate_image(image, old=old_image, ctx=ctx)
        defaulted = image.dump()
    else:
        build = admission.default_build(_model(builds.Build, hub))
        old_build = _model(builds.Build, old_hub) if old_hub is not None else None
        error = admission.validate_build(build, old=old_build, ctx=ctx)
        defaulted = build.dump()
    if error:
        raise _Rejected([str(e) for e in error.merged()])
    return conversion.convert(defaulted, str(version))


def _admit_builder_half(doc: dict[str, Any], *, kind: str, version: str) -> dict[str, Any]:
    """A builder-half object: v1alpha2 only, and no rule compares it with an old one."""
    if version != meta.V1ALPHA2:
        raise _Rejected([f"apiVersion: a {kind} is admitted at {meta.V1ALPHA2} only, got {version}"])
    try:
        admitted = builder_admission.admit(doc)
    except pydantic.ValidationError as e:
        raise _Rejected([f"{kind} {version} is not valid: {_describe(e)}"]) from e
    if admitted.error:
        raise _Rejected([str(e) for e in admitted.error.merged()])
    return admitted.defaulted.dump()


def _to_hub(doc: dict[str, Any]) -> dict[str, Any]:
    try:
        return conversion.convert(doc, meta.V1ALPHA2)
    except conversion.ConversionError as e:
        raise _Rejected([_conversion_message(e, doc)]) from e


def _conversion_message(error: conversion.ConversionError, doc: dict[str, Any]) -> str:
    """One line: pydantic's own text spans several lines and links to its docs."""
    cause = error.__cause__
    if isinstance(cause, pydantic.ValidationError):
        return f"{doc.get('kind')} {doc.get('apiVersion')} is not valid: {_describe(cause)}"
    return str(error)


def _model(model: type[M], doc: dict[str, Any]) -> M:
    try:
        return model.model_validate(doc)
    except pydantic.ValidationError as e:
        raise _Rejected([_describe(e)]) from e


def _describe(error: pydantic.ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in d['loc'])}: {d['msg']}" for d in error.errors(include_url=False)
    )


def _label(doc: dict[str, Any], index: int) -> str:
    name = (doc.get("metadata") or {}).get("name") or f"document {index + 1}"
    return f"{doc.get('kind', 'object')} {name}: "


def convert(
    file: Annotated[Path, typer.Argument(help="Image or Build document(s)")],
    to: Annotated[str, typer.Option("--to", help="kpack.io/v1alpha1 or kpack.io/v1alpha2")],
    output: common.OutputOption = "yaml",
) -> None:
    """Convert Images and Builds between kpack.io/v1alpha1 and kpack.io/v1alpha2."""
    if to not in conversion.VERSIONS:
        raise typer.BadParameter(f"expected one of {', '.join(conversion.VERSIONS)}", param_hint="--to")
    converted, problems = [], []
    for doc in common.load_some(file):
        try:
            converted.append(conversion.convert(doc, to))
        except conversion.ConversionError as e:
            problems.append(_conversion_message(e, doc))
    if problems:
        common.fail(problems)
    common.emit(converted, output=output)


def plan(
    image_file: Annotated[Path, typer.Argument(help="the Image")],
    builder: Annotated[Path, typer.Option(help="its Builder or ClusterBuilder")],
    source_resolver: Annotated[Path | None, typer.Option(help="its SourceResolver")] = None,
    builds_file: Annotated[Path | None, typer.Option("--builds", help="its Builds")] = None,
    pvc: Annotated[Path | None, typer.Option(help="its cache PersistentVolumeClaim")] = None,
    now: Annotated[str | None, typer.Option(help="RFC 3339 time to decide at (default: now)")] = None,
    push: Annotated[
        str | None,
        typer.Option(
            metavar="COMMIT",
            help="plan a git push of COMMIT to the Image's git source, as the image-reconciler does "
            "(it records the push on the SourceResolver, which the decision then sees); adds "
            "sourceResolver: the action, the status to write, what the push did",
        ),
    ] = None,
    before: Annotated[
        str | None,
        typer.Option(
            metavar="SHA", help="with --push: the commit the branch was at before it (the webhook's before)"
        ),
    ] = None,
    output: common.OutputOption = "yaml",
) -> None:
    """The Image reconcile as a dry run: what Kiln would create, update, delete and write."""
    at = common.parse_now(now)
    image = _load_model(images.Image, image_file, kinds=(images.KIND,))
    pushed = _pushed(image, commit=push, before=before)
    try:
        decided = reconcile.plan(
            image=image,
            builder=_load_model(builders.Builder, builder, kinds=builders.KINDS),
            source_resolver=(
                _load_model(source_resolvers.SourceResolver, source_resolver, kinds=(source_resolvers.KIND,))
                if source_resolver
                else None
            ),
            builds=(
                [
                    _kpack_model(builds.Build, d, kinds=(builds.KIND,), path=builds_file)
                    for d in common.load(builds_file)
                ]
                if builds_file
                else []
            ),
            pvc=common.load_one(pvc) if pvc else None,
            now=at,
            resolution=reconcile.Resolution(pushed=pushed) if pushed is not None else None,
        )
    except reconcile.ReconcileError as e:
        common.fail(str(e))
    document = decided.to_document()
    if pushed is not None:
        document["sourceResolver"] = decided.source_resolver.to_document()
    common.emit([document], output=output)


def _pushed(image: images.Image, *, commit: str | None, before: str | None) -> events.SourceChanged | None:
    """The ``source.changed`` a git push of ``commit`` to the Image's repository publishes."""
    if commit is None:
        if before is not None:
            raise typer.BadParameter("--before needs --push COMMIT", param_hint="--before")
        return None
    for value, hint in ((commit, "--push"), (before, "--before")):
        if value is not None and not sources.is_commit(value):
            raise typer.BadParameter(
                f"expected a full commit id (40 or 64 lowercase hexadecimal digits), got {value!r}",
                param_hint=hint,
            )
    git = image.spec.source.git
    if git is None:
        raise typer.BadParameter(
            "the Image has no git source (spec.source.git) to push to", param_hint="--push"
        )
    return events.SourceChanged(
        namespace=image.namespace or "default", image=image.name, url=git.url, revision=commit, before=before
    )


def render_pod(
    build_file: Annotated[Path, typer.Argument(help="the Build")],
    builder_config: Annotated[Path, typer.Option(help="the builder image as the pod generator sees it")],
    now: Annotated[
        str | None,
        typer.Option(help="RFC 3339 time of rendering, read only for spec.creationTime: now (default: now)"),
    ] = None,
    output: common.OutputOption = "yaml",
) -> None:
    """Render the build (or rebase) pod of a Build, with its cache arguments.

    Bindings that need no cluster are mounted (Secret services, CNB bindings); a provisioned
    service cannot be read here and is refused as not found.
    """
    build = _load_model(builds.Build, build_file, kinds=(builds.KIND,))
    config = _checked(builder_images.BuilderImageConfig, common.load_one(builder_config))
    try:
        pod = pods.render_pod(build, config=config, now=common.parse_now(now))
    except pods.PodGenerationError as e:
        common.fail(str(e))
    common.emit([pod], output=output)


def schema() -> None:
    """Print the JSON Schema of every event Kiln's services exchange."""
    typer.echo(json.dumps(events.json_schema(), indent=2, sort_keys=True))


def _load_model(model: type[M], path: Path, *, kinds: tuple[str, ...]) -> M:
    return _kpack_model(model, common.load_one(path), kinds=kinds, path=path)


def _kpack_model(model: type[M], doc: dict[str, Any], *, kinds: tuple[str, ...], path: Path) -> M:
    """``doc`` as ``model``: a kpack.io object of one of ``kinds``, v1alpha1 Images and Builds converted."""
    version, kind = doc.get("apiVersion"), doc.get("kind")
    if version not in conversion.VERSIONS or kind not in kinds:
        common.fail(f"{path}: expected a kpack.io {' or '.join(kinds)}, got {version} {kind}")
    if version == meta.V1ALPHA1 and kind in CONVERTED_KINDS:
        try:
            doc = conversion.convert(doc, meta.V1ALPHA2)
        except conversion.ConversionError as e:
            common.fail(_conversion_message(e, doc))
    return _checked(model, doc)


def _checked(model: type[M], doc: dict[str, Any]) -> M:
    try:
        return model.model_validate(doc)
    except pydantic.ValidationError as e:
        common.fail(f"{model.__name__}: {_describe(e)}")
