"""AdmissionReview and ConversionReview requests in, their responses out: pure, over contracts.

The rules are :mod:`contracts.admission` (kpack's defaulting and validation of Images and Builds),
:mod:`contracts.builder_admission` (the builder half's: ClusterStore, ClusterStack,
ClusterLifecycle, Buildpack, ClusterBuildpack, Builder, ClusterBuilder) and
:mod:`contracts.conversion`; this module only reads the reviews and writes the answers, as
kpack's (knative's) webhook does:

* ``mutate``: the object defaulted (``SetDefaults``), answered as a base64 JSONPatch
  (``patchType: JSONPatch``) from the object as received to its defaulted form; no patch when
  nothing changes.
* ``validate``: the object defaulted then validated; a refusal is ``allowed: false`` with
  ``status`` = ``{code: 400, reason: BadRequest, message}``, the message knative's
  ``validation failed: `` and the text ``kiln validate`` prints.
* ``convert``: each object to ``desiredAPIVersion``; ``result.status`` ``Success`` or ``Failure``
  with the message.

The uid is echoed in every answer. Who asks matters (:func:`contracts.admission.requested_by_user`):
only a user's ``kpack.io/v1alpha2`` request refuses ``cnbBindings`` and ``notary``. Images and Builds
are admitted at either version (a v1alpha1 one through conversion); the builder half's kinds at
``kpack.io/v1alpha2`` only, as kpack's webhook registers them (another version is refused, as
knative refuses a kind it does not handle). A body that is not a review at all raises
:class:`BadReview` (the server answers 400 with its message).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import jsonpatch
import pydantic

from contracts import admission, builder_admission, builds, conversion, images, meta

ADMISSION_VERSION = "admission.k8s.io/v1"
CONVERSION_VERSION = "apiextensions.k8s.io/v1"
CONVERTED_KINDS = (images.KIND, builds.KIND)
"""Admitted at kpack.io/v1alpha1 too, through :mod:`contracts.conversion`."""
KINDS = (*CONVERTED_KINDS, *builder_admission.KINDS)
ADMITTED_OPERATIONS = ("CREATE", "UPDATE")
VALIDATION_FAILED = "validation failed: "
"""knative's prefix of a refusal by the rules, so ``kubectl`` shows what kpack's webhook answers:
``… denied the request: validation failed: Immutable field changed: spec.tag``."""

Document = dict[str, Any]


class BadReview(ValueError):
    """The body is not an AdmissionReview / ConversionReview this webhook can answer."""


def _request(review: object, *, kind: str, api_version: str) -> Document:
    if not isinstance(review, dict):
        raise BadReview(f"expected a {api_version} {kind} object, got {type(review).__name__}")
    if review.get("apiVersion") != api_version or review.get("kind") != kind:
        raise BadReview(
            f"apiVersion/kind: expected {api_version} {kind}, got {review.get('apiVersion')} {review.get('kind')}"
        )
    request = review.get("request")
    if not isinstance(request, dict) or not isinstance(request.get("uid"), str) or not request["uid"]:
        raise BadReview(f"request.uid: a {kind} needs a request with a uid")
    return request


# Admission --------------------------------------------------------------------------------------


def mutate(review: object, *, ctx: admission.AdmissionContext) -> Document:
    """The AdmissionReview answering a mutating request: the patch to the defaulted object."""
    request, admitted = _admission(review, ctx=ctx)
    if not isinstance(admitted, tuple):
        return admitted
    received, defaulted, _ = admitted
    patch = jsonpatch.make_patch(received, defaulted).patch
    if not patch:
        return _answer(request, allowed=True)
    encoded = base64.b64encode(json.dumps(patch).encode()).decode()
    return _answer(request, allowed=True, extra={"patchType": "JSONPatch", "patch": encoded})


def validate(review: object, *, ctx: admission.AdmissionContext) -> Document:
    """The AdmissionReview answering a validating request: allowed, or kpack's messages."""
    request, admitted = _admission(review, ctx=ctx)
    if not isinstance(admitted, tuple):
        return admitted
    error = admitted[2]
    return _answer(request, allowed=not error, message=f"{VALIDATION_FAILED}{error}" if error else None)


def _admission(
    review: object, *, ctx: admission.AdmissionContext
) -> tuple[Document, tuple[Document, Document, str] | Document]:
    """The request, and what :func:`_admit` made of it — or the answer when there is nothing to
    admit (allowed) or the object cannot be read (refused)."""
    request = _request(review, kind="AdmissionReview", api_version=ADMISSION_VERSION)
    admitted = _admit(request, ctx=ctx)
    if admitted is None:
        return request, _answer(request, allowed=True)
    if isinstance(admitted, str):
        return request, _answer(request, allowed=False, message=admitted)
    return request, admitted


def _admit(
    request: Document, *, ctx: admission.AdmissionContext
) -> tuple[Document, Document, str] | str | None:
    """(the object as Kiln reads it, defaulted, kpack's validation message), why it cannot be read,
    or None for an operation that is not admitted here (DELETE, CONNECT: allowed as they are).

    Both documents are in the request's version (knative diffs the typed object before and after
    ``SetDefaults``, so that a round trip through the types never shows up as a patch)."""
    operation, obj = request.get("operation"), request.get("object")
    if operation not in ADMITTED_OPERATIONS:
        return None
    if not isinstance(obj, dict):
        return "request.object: expected the kpack.io object being admitted"
    version, kind = obj.get("apiVersion"), obj.get("kind")
    if version not in conversion.VERSIONS or kind not in KINDS:
        return f"kind: expected a kpack.io {', '.join(KINDS[:-1])} or {KINDS[-1]}, got {version} {kind}"
    if kind in builder_admission.KINDS:
        return _admit_builder_half(obj, kind=str(kind), version=str(version))
    old = request.get("oldObject") if operation == "UPDATE" else None
    user_info = request.get("userInfo")
    user = user_info.get("username") if isinstance(user_info, dict) else None
    ctx = ctx.model_copy(
        update={"user_request": version == meta.V1ALPHA2 and admission.requested_by_user(user)}
    )
    try:
        hub = conversion.convert(obj, meta.V1ALPHA2)
        old_hub = conversion.convert(old, meta.V1ALPHA2) if isinstance(old, dict) else None
        return _admit_hub(hub, old_hub, kind=str(kind), version=str(version), ctx=ctx)
    except (conversion.ConversionError, pydantic.ValidationError) as e:
        return _described(e, kind=kind, version=version)


def _admit_builder_half(obj: Document, *, kind: str, version: str) -> tuple[Document, Document, str] | str:
    """A builder-half object, v1alpha2 only; no rule compares it with the old object."""
    if version != meta.V1ALPHA2:
        return f"apiVersion: a {kind} is admitted at {meta.V1ALPHA2} only, got {version}"
    try:
        admitted = builder_admission.admit(obj)
    except pydantic.ValidationError as e:
        return _described(e, kind=kind, version=version)
    error = str(admitted.error) if admitted.error else ""
    return admitted.received.dump(), admitted.defaulted.dump(), error


def _admit_hub(
    hub: Document, old: Document | None, *, kind: str, version: str, ctx: admission.AdmissionContext
) -> tuple[Document, Document, str]:
    if kind == images.KIND:
        image = images.Image.model_validate(hub)
        old_image = images.Image.model_validate(old) if old is not None else None
        defaulted_image = admission.default_image(image, ctx)
        error = admission.validate_image(defaulted_image, old=old_image, ctx=ctx)
        received, defaulted = image.dump(), defaulted_image.dump()
    else:
        build = builds.Build.model_validate(hub)
        old_build = builds.Build.model_validate(old) if old is not None else None
        defaulted_build = admission.default_build(build)
        error = admission.validate_build(defaulted_build, old=old_build, ctx=ctx)
        received, defaulted = build.dump(), defaulted_build.dump()
    return (
        conversion.convert(received, version),
        conversion.convert(defaulted, version),
        str(error) if error else "",
    )


def _answer(
    request: Document, *, allowed: bool, message: str | None = None, extra: Document | None = None
) -> Document:
    response: Document = {"uid": request["uid"], "allowed": allowed, **(extra or {})}
    if message:
        response["status"] = {"status": "Failure", "reason": "BadRequest", "code": 400, "message": message}
    return {"apiVersion": ADMISSION_VERSION, "kind": "AdmissionReview", "response": response}


def _described(error: Exception, *, kind: object, version: object) -> str:
    """One line: pydantic's own text spans several lines and links to its docs."""
    cause = error if isinstance(error, pydantic.ValidationError) else error.__cause__
    if not isinstance(cause, pydantic.ValidationError):
        return str(error)
    problems = "; ".join(
        f"{'.'.join(str(p) for p in d['loc'])}: {d['msg']}" for d in cause.errors(include_url=False)
    )
    return f"{kind} {version} is not valid: {problems}"


# Conversion -------------------------------------------------------------------------------------


def convert(review: object) -> Document:
    """The ConversionReview answering a request: every object at ``desiredAPIVersion``, or the first failure."""
    request = _request(review, kind="ConversionReview", api_version=CONVERSION_VERSION)
    desired, objects = request.get("desiredAPIVersion"), request.get("objects")
    response: Document = {"uid": request["uid"]}
    try:
        if not isinstance(desired, str):
            raise conversion.ConversionError(
                "desiredAPIVersion: expected kpack.io/v1alpha1 or kpack.io/v1alpha2"
            )
        if not isinstance(objects, list) or not all(isinstance(o, dict) for o in objects):
            raise conversion.ConversionError("objects: expected a list of objects")
        converted = []
        for obj in objects:
            try:
                converted.append(conversion.convert(obj, desired))
            except conversion.ConversionError as e:
                raise conversion.ConversionError(
                    _described(e, kind=obj.get("kind"), version=obj.get("apiVersion"))
                ) from e
        response["convertedObjects"], response["result"] = converted, {"status": "Success"}
    except conversion.ConversionError as e:
        response["convertedObjects"] = []
        response["result"] = {"status": "Failure", "message": str(e)}
    return {"apiVersion": CONVERSION_VERSION, "kind": "ConversionReview", "response": response}
