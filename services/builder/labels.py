"""Image labels read as kpack's ``imagehelpers`` reads them.

A missing label is ``could not find label <key>`` (:func:`string_label`); a JSON label
(:func:`json_label`) is Go's ``json.Unmarshal`` into kpack's Go type
(:mod:`contracts.golang`), failing with Go's own message for text that is not JSON or does not
fit the type (:mod:`contracts.gojson`).

Pure: no I/O. Every failure is a :class:`~services.builder.problems.BuilderProblem`.
"""

from __future__ import annotations

from typing import Any

from contracts import gojson, golang, oci
from services.builder.problems import BuilderProblem


def string_label(image: oci.RemoteImage, *, key: str) -> str:
    """The label ``key`` (``imagehelpers.GetStringLabel``)."""
    labels = image.labels
    if key not in labels:
        raise BuilderProblem(f"could not find label {key}")
    return labels[key]


def json_label(image: oci.RemoteImage, *, key: str, go_type: golang.GoType) -> Any:
    """The label ``key`` decoded into ``go_type`` (``imagehelpers.GetLabel``): a struct as a dict
    of all its fields (zero values for the absent), a slice as a list, a map as a dict, ``None``
    for a nil slice or map."""
    try:
        return gojson.unmarshal(go_type, string_label(image, key=key))
    except golang.GoError as e:
        raise BuilderProblem(str(e)) from e
