"""kpack's conversion annotations (``image_conversion.go`` ``convertToAnnotations`` /
``convertFromAnnotations``) byte for byte, each case naming the kpack test it comes from
(``image_conversion_test.go``) or the line of kpack's code it reproduces; and the round trips as
properties over varied Images."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import conversion, golang

V1 = "kpack.io/v1alpha1"
V2 = "kpack.io/v1alpha2"
ANNOTATIONS = {
    "kpack.io/services": '[{"kind":"Secret","name":"some-secret","apiVersion":"v1"}]',
    "kpack.io/tolerations": '[{"key":"some-key","value":"some-value"}]',
    "kpack.io/nodeSelector": '{"some-node-selector-key":"some-node-selector-value"}',
    "kpack.io/affinity": "{}",
    "kpack.io/runtimeClassName": "some-runtime-class-name",
    "kpack.io/schedulerName": "some-scheduler-name",
    "kpack.io/buildTimeout": "7",
    "kpack.io/cache.volume.storageClassName": "some-storage-class",
    "kpack.io/cache.registry.tag": "some-tag",
    "kpack.io/projectDescriptorPath": "some-project-descriptor-path",
    "kpack.io/cosignAnnotation": '[{"name":"some-cosign-name","value":"some-cosign-value"}]',
    "kpack.io/defaultProcess": "some-default-process",
}
"""The annotations of kpack's ``v1alpha1Image`` fixture, exactly."""
STATUS = {
    "observedGeneration": 1,
    "conditions": [
        {
            "type": "Ready",
            "status": "True",
            "severity": "tornado-warning",
            "reason": "executive-order",
            "message": "it-is-too-late",
        }
    ],
    "latestBuildRef": "some-build",
    "latestBuildImageGeneration": 1,
    "latestImage": "my-repo/my-image",
    "latestStack": "io.buildpacks.stacks.full",
    "buildCounter": 1,
    "buildCacheName": "build-pvc",
    "latestBuildReason": "COMMIT",
}
NOTARY = {"v1": {"url": "notary.com", "secretRef": {"name": "shhh"}}}
ENV = [{"name": "blah", "value": "env"}]
RESOURCES = {"limits": {"some-limit": "0"}, "requests": {"some-request": "0"}}
SOURCES = {
    "git": {"git": {"url": "my-repo.com", "revision": "main"}, "subPath": "my-sub-path"},
    "registry": {
        "registry": {"image": "my-registry.com/image", "imagePullSecrets": [{"name": "my-image-secret"}]},
        "subPath": "my-sub-path",
    },
    "blob": {"blob": {"url": "blob.com"}, "subPath": "my-sub-path"},
}


def kpack_v1alpha2(source: dict[str, Any]) -> dict[str, Any]:
    """kpack's ``v1alpha2Image`` fixture."""
    spec = {
        "tag": "my-tag",
        "builder": {},
        "serviceAccountName": "service-account",
        "source": source,
        "cache": {
            "volume": {"size": "5G", "storageClassName": "some-storage-class"},
            "registry": {"tag": "some-tag"},
        },
        "failedBuildHistoryLimit": 5,
        "successBuildHistoryLimit": 5,
        "imageTaggingStrategy": "BuildNumber",
        "build": {
            "services": [{"kind": "Secret", "name": "some-secret", "apiVersion": "v1"}],
            "tolerations": [{"key": "some-key", "value": "some-value"}],
            "env": ENV,
            "resources": RESOURCES,
            "nodeSelector": {"some-node-selector-key": "some-node-selector-value"},
            "affinity": {},
            "runtimeClassName": "some-runtime-class-name",
            "schedulerName": "some-scheduler-name",
            "buildTimeout": 7,
        },
        "notary": NOTARY,
        "projectDescriptorPath": "some-project-descriptor-path",
        "cosign": {"annotations": [{"name": "some-cosign-name", "value": "some-cosign-value"}]},
        "defaultProcess": "some-default-process",
    }
    metadata = {"name": "my-super-convertable-image"}
    return {"apiVersion": V2, "kind": "Image", "metadata": metadata, "spec": spec, "status": STATUS}


def kpack_v1alpha1(source: dict[str, Any]) -> dict[str, Any]:
    """kpack's ``v1alpha1Image`` fixture."""
    spec = {
        "tag": "my-tag",
        "builder": {},
        "serviceAccount": "service-account",
        "source": source,
        "cacheSize": "5G",
        "failedBuildHistoryLimit": 5,
        "successBuildHistoryLimit": 5,
        "imageTaggingStrategy": "BuildNumber",
        "build": {"env": ENV, "resources": RESOURCES},
        "notary": NOTARY,
    }
    metadata = {"name": "my-super-convertable-image", "annotations": dict(ANNOTATIONS)}
    return {"apiVersion": V1, "kind": "Image", "metadata": metadata, "spec": spec, "status": STATUS}


@pytest.mark.parametrize("source", list(SOURCES), ids=[f"can convert a {s} source image" for s in SOURCES])
def test_kpacks_fixture_converts_to_v1alpha1_and_back(source: str) -> None:
    v2, v1 = kpack_v1alpha2(SOURCES[source]), kpack_v1alpha1(SOURCES[source])
    assert conversion.convert(v2, V1) == v1
    assert conversion.convert(v1, V2) == v2


def test_handles_nil_values() -> None:
    """kpack: handles nil values (build, notary, cache, projectDescriptorPath, cosign, defaultProcess)."""
    v2 = kpack_v1alpha2(SOURCES["git"])
    for key in ("build", "notary", "cache", "projectDescriptorPath", "cosign", "defaultProcess"):
        del v2["spec"][key]
    v1 = kpack_v1alpha1(SOURCES["git"])
    for key in ("build", "notary", "cacheSize"):
        del v1["spec"][key]
    del v1["metadata"]["annotations"]
    assert conversion.convert(v2, V1) == v1
    assert conversion.convert(v1, V2) == v2


def test_handles_converting_images_with_registry_cache() -> None:
    v2 = kpack_v1alpha2(SOURCES["git"])
    v2["spec"]["cache"] = {"registry": {"tag": "some-registry.com/tag"}}
    v1 = conversion.convert(v2, V1)
    assert "cacheSize" not in v1["spec"]
    assert v1["metadata"]["annotations"]["kpack.io/cache.registry.tag"] == "some-registry.com/tag"
    assert "kpack.io/cache.volume.storageClassName" not in v1["metadata"]["annotations"]


def test_converts_v1alpha1_bindings() -> None:
    bindings = [
        {
            "name": "some-binding",
            "metadataRef": {"name": "some-metadata"},
            "secretRef": {"name": "some-secret"},
        }
    ]
    v1 = kpack_v1alpha1(SOURCES["git"])
    v1["spec"]["build"]["bindings"] = bindings
    assert conversion.convert(v1, V2)["spec"]["build"]["cnbBindings"] == bindings


# Writing the annotations ------------------------------------------------------------------------


def image(build: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"tag": "reg.io/app", **spec}
    if build is not None:
        body["build"] = build
    return {"apiVersion": V2, "kind": "Image", "metadata": {"name": "app"}, "spec": body}


def annotations_of(doc: dict[str, Any]) -> dict[str, str]:
    return conversion.convert(doc, V1)["metadata"].get("annotations") or {}


@pytest.mark.parametrize(
    ("doc", "annotations"),
    [
        (image({"tolerations": []}), {}),
        (image({"services": []}), {}),
        (image({"nodeSelector": {}}), {}),
        (image({"affinity": {}}), {"kpack.io/affinity": "{}"}),
        (image({"affinity": None}), {}),
        (image({"runtimeClassName": ""}), {"kpack.io/runtimeClassName": ""}),
        (image({"schedulerName": ""}), {}),
        (image({"buildTimeout": 0}), {"kpack.io/buildTimeout": "0"}),
        (image({"buildTimeout": -5}), {"kpack.io/buildTimeout": "-5"}),
        (image(cosign={}), {}),
        (image(cosign={"annotations": []}), {}),
        (image(projectDescriptorPath="", defaultProcess=""), {}),
        (
            image(
                {
                    "services": [
                        {"apiVersion": "v1", "name": "s", "kind": "Secret", "namespace": "", "extra": 1}
                    ]
                }
            ),
            {"kpack.io/services": '[{"kind":"Secret","name":"s","apiVersion":"v1"}]'},
        ),
        (
            image({"tolerations": [{"effect": "NoSchedule", "tolerationSeconds": 0, "operator": "Exists"}]}),
            {"kpack.io/tolerations": '[{"operator":"Exists","effect":"NoSchedule","tolerationSeconds":0}]'},
        ),
        (
            image({"nodeSelector": {"zone": "b", "disk": "ssd&fast"}}),
            {"kpack.io/nodeSelector": '{"disk":"ssd\\u0026fast","zone":"b"}'},
        ),
        (
            image(
                {
                    "affinity": {
                        "podAntiAffinity": {
                            "preferredDuringSchedulingIgnoredDuringExecution": [
                                {
                                    "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "<web>"}}},
                                    "weight": 10,
                                }
                            ]
                        }
                    }
                }
            ),
            {
                "kpack.io/affinity": '{"podAntiAffinity":{"preferredDuringSchedulingIgnoredDuringExecution":'
                '[{"weight":10,"podAffinityTerm":{"labelSelector":{"matchLabels":{"app":"\\u003cweb\\u003e"}},'
                '"topologyKey":""}}]}}'
            },
        ),
        (
            image({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {}}}}),
            {
                "kpack.io/affinity": '{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":'
                '{"nodeSelectorTerms":null}}}'
            },
        ),
        (
            image(cosign={"annotations": [{"value": "v", "name": "n"}, {"name": "only-name"}]}),
            {"kpack.io/cosignAnnotation": '[{"name":"n","value":"v"},{"name":"only-name"}]'},
        ),
        (
            image({"schedulerName": "s\u2028"}, defaultProcess="web"),
            {"kpack.io/schedulerName": "s\u2028", "kpack.io/defaultProcess": "web"},
        ),
    ],
    ids=[
        "empty tolerations write no annotation (len > 0)",
        "empty services write no annotation",
        "an empty node selector writes no annotation",
        "an empty affinity is a non-nil pointer and is written as {}",
        "a null affinity is nil",
        "an empty runtime class name is a non-nil pointer and is written",
        "an empty scheduler name is not written",
        "a zero build timeout is a non-nil pointer and is written",
        "a negative build timeout is written as Go formats it",
        "a cosign config without annotations is lost, as in kpack",
        "empty cosign annotations write no annotation",
        "empty project descriptor path and default process are not written",
        "services in Go's field order (kind, name, apiVersion), empty and unknown fields dropped",
        "tolerations in Go's field order; a zero tolerationSeconds pointer is kept",
        "map keys sorted and & escaped as Go's json.Marshal does",
        "affinity in Go's order, with < > escaped and the non-omitempty topologyKey written",
        "a node selector without terms has nodeSelectorTerms null, as Go writes a nil slice",
        "cosign annotations in Go's field order, an empty value left out",
        "plain string annotations are written as they are, U+2028 included",
    ],
)
def test_convert_to_annotations_as_kpack_writes_them(
    doc: dict[str, Any], annotations: dict[str, str]
) -> None:
    assert annotations_of(doc) == annotations


def test_carried_fields_leave_the_v1alpha1_spec_and_other_fields_stay() -> None:
    doc = image(
        {
            "services": [{"kind": "Secret", "name": "s"}],
            "creationTime": "now",
            "cnbBindings": [{"name": "b"}],
        },
        cosign={"annotations": [{"name": "n", "value": "v"}]},
        additionalTags=["reg.io/app:v2"],
        projectDescriptorPath="p.toml",
    )
    v1 = conversion.convert(doc, V1)
    assert v1["spec"] == {
        "tag": "reg.io/app",
        "build": {"creationTime": "now", "bindings": [{"name": "b"}]},
        "additionalTags": ["reg.io/app:v2"],
    }
    assert conversion.convert(v1, V2) == doc


def test_existing_annotations_are_kept_and_a_stale_kpack_one_is_overwritten() -> None:
    doc = image({"schedulerName": "new"})
    doc["metadata"]["annotations"] = {
        "team": "a",
        "kpack.io/schedulerName": "old",
        "kpack.io/defaultProcess": "x",
    }
    assert annotations_of(doc) == {
        "team": "a",
        "kpack.io/schedulerName": "new",
        "kpack.io/defaultProcess": "x",
    }


def test_a_value_go_cannot_hold_is_a_conversion_error_naming_the_field() -> None:
    doc = image({"tolerations": [{"key": "k", "tolerationSeconds": "5"}]})
    with pytest.raises(conversion.ConversionError) as raised:
        conversion.convert(doc, V1)
    assert str(raised.value) == (
        "Image kpack.io/v1alpha2 is not valid: "
        "spec.build.tolerations[0].tolerationSeconds: expected an integer, got a string"
    )


# Reading them back ------------------------------------------------------------------------------


def v1_image(annotations: dict[str, str], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": V1,
        "kind": "Image",
        "metadata": {"name": "app", "annotations": annotations},
        "spec": {"tag": "reg.io/app", **spec},
    }


def v2_image(annotations: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "app"}
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": V2, "kind": "Image", "metadata": metadata, "spec": {"tag": "reg.io/app", **spec}}


SERVICES = "kpack.io/services"
TOLERATIONS = "kpack.io/tolerations"
NODE_SELECTOR = "kpack.io/nodeSelector"
TIMEOUT = "kpack.io/buildTimeout"
COSIGN = "kpack.io/cosignAnnotation"
PROCESS = "kpack.io/defaultProcess"


@pytest.mark.parametrize(
    ("v1", "v2"),
    [
        (
            v1_image({SERVICES: "not json", TOLERATIONS: "[]", PROCESS: "web"}),
            v2_image({SERVICES: "not json", TOLERATIONS: "[]", PROCESS: "web"}, build={}),
        ),
        (
            v1_image({TOLERATIONS: '[{"key":"k"}]', NODE_SELECTOR: '{"a":1}', PROCESS: "web", "team": "a"}),
            v2_image(
                {NODE_SELECTOR: '{"a":1}', PROCESS: "web", "team": "a"}, build={"tolerations": [{"key": "k"}]}
            ),
        ),
        (
            v1_image({TIMEOUT: "7s", PROCESS: "web"}),
            v2_image({TIMEOUT: "7s", PROCESS: "web"}, build={}),
        ),
        (
            v1_image({COSIGN: '{"name":"n"}', PROCESS: "web"}),
            v2_image({COSIGN: '{"name":"n"}', PROCESS: "web"}),
        ),
        (v1_image({SERVICES: "null"}), v2_image(build={})),
        (v1_image({COSIGN: "null"}), v2_image(cosign={})),
        (v1_image({COSIGN: "[]"}), v2_image(cosign={})),
        (
            v1_image({SERVICES: '[{"KIND":"Secret","Name":"s","uid":""}]'}),
            v2_image(build={"services": [{"kind": "Secret", "name": "s"}]}),
        ),
        (v1_image({TIMEOUT: "+8"}), v2_image(build={"buildTimeout": 8})),
        (v1_image({"kpack.io/runtimeClassName": ""}), v2_image(build={"runtimeClassName": ""})),
        (v1_image({"kpack.io/schedulerName": ""}), v2_image(build={})),
        (v1_image({"kpack.io/projectDescriptorPath": ""}), v2_image()),
        (
            v1_image({PROCESS: "web"}, build={"env": [{"name": "A", "value": "1"}]}),
            v2_image(build={"env": [{"name": "A", "value": "1"}]}, defaultProcess="web"),
        ),
        (
            v1_image({TOLERATIONS: "[{}]"}, build={"tolerations": [{"key": "verbatim"}]}),
            v2_image(build={"tolerations": [{}]}),
        ),
    ],
    ids=[
        "kpack stops at an annotation that does not parse: it and all after it stay, the build is created",
        "annotations read before the failing one are converted and removed",
        "a build timeout that is no integer stops the conversion there (strconv.ParseInt)",
        "cosign JSON that does not parse creates no cosign config (kpack parses first)",
        "null services create the build but no services",
        "null cosign annotations still create the cosign config, which holds nothing",
        "empty cosign annotations create an empty cosign config",
        "annotation JSON is read as Go reads it: keys case-insensitive, empty fields dropped",
        "a build timeout with a plus sign parses",
        "an empty runtime class name annotation is an empty pointer and is kept",
        "an empty scheduler name annotation creates the build and nothing in it",
        "an empty project descriptor path annotation leaves nothing",
        "what v1alpha1 has and the annotations are merged",
        "an annotation replaces a field of the same name in the v1alpha1 build",
    ],
)
def test_convert_from_annotations_as_kpack_reads_them(v1: dict[str, Any], v2: dict[str, Any]) -> None:
    assert conversion.convert(v1, V2) == v2


# Properties -------------------------------------------------------------------------------------


text = st.text(max_size=8)
nonempty = st.text(min_size=1, max_size=8)
names = st.text(alphabet="abcdefghij-", min_size=1, max_size=6)
int64 = st.integers(min_value=golang.INT64_MIN, max_value=golang.INT64_MAX)
string_map = st.dictionaries(nonempty, text, min_size=1, max_size=3).map(lambda m: dict(sorted(m.items())))


def go_struct(go_type: golang.GoType, fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """Objects with some of ``fields``, in the form Go writes them back (:func:`golang.canonical`)."""
    drawn = st.fixed_dictionaries({}, optional=fields)
    return drawn.map(lambda value: golang.canonical(go_type, value))


service = go_struct(
    golang.OBJECT_REFERENCE, dict.fromkeys(("kind", "name", "apiVersion", "namespace"), nonempty)
)
toleration = go_struct(
    golang.TOLERATION,
    {
        "key": nonempty,
        "operator": st.sampled_from(["Exists", "Equal"]),
        "value": text,
        "effect": text,
        "tolerationSeconds": int64,
    },
)
requirement = st.fixed_dictionaries(
    {"key": text, "operator": st.sampled_from(["In", "NotIn", "Exists"])},
    optional={"values": st.lists(text, max_size=2)},
)
label_selector = st.fixed_dictionaries(
    {},
    optional={
        "matchLabels": st.dictionaries(names, text, max_size=2),
        "matchExpressions": st.lists(requirement, max_size=2),
    },
)
pod_term = st.fixed_dictionaries(
    {},
    optional={
        "labelSelector": label_selector,
        "namespaces": st.lists(names, max_size=2),
        "topologyKey": text,
        "matchLabelKeys": st.lists(names, max_size=2),
    },
)
node_term = st.fixed_dictionaries({}, optional={"matchExpressions": st.lists(requirement, max_size=2)})
affinity = go_struct(
    golang.AFFINITY,
    {
        "nodeAffinity": st.fixed_dictionaries(
            {},
            optional={
                "requiredDuringSchedulingIgnoredDuringExecution": st.fixed_dictionaries(
                    {}, optional={"nodeSelectorTerms": st.lists(node_term, max_size=2)}
                ),
                "preferredDuringSchedulingIgnoredDuringExecution": st.lists(
                    st.fixed_dictionaries({"weight": st.integers(1, 100), "preference": node_term}),
                    max_size=2,
                ),
            },
        ),
        "podAffinity": st.fixed_dictionaries(
            {}, optional={"requiredDuringSchedulingIgnoredDuringExecution": st.lists(pod_term, max_size=2)}
        ),
        "podAntiAffinity": st.fixed_dictionaries(
            {},
            optional={
                "preferredDuringSchedulingIgnoredDuringExecution": st.lists(
                    st.fixed_dictionaries({"weight": st.integers(1, 100), "podAffinityTerm": pod_term}),
                    max_size=2,
                )
            },
        ),
    },
)
cosign_annotation = go_struct(golang.COSIGN_ANNOTATION, {"name": nonempty, "value": nonempty})
build = st.fixed_dictionaries(
    {},
    optional={
        "services": st.lists(service, min_size=1, max_size=2),
        "cnbBindings": st.lists(st.fixed_dictionaries({"name": names}), min_size=1, max_size=2),
        "env": st.lists(st.fixed_dictionaries({"name": names, "value": text}), min_size=1, max_size=2),
        "resources": st.just({"limits": {"cpu": "1"}}),
        "tolerations": st.lists(toleration, min_size=1, max_size=2),
        "nodeSelector": string_map,
        "affinity": affinity,
        "runtimeClassName": text,
        "schedulerName": nonempty,
        "buildTimeout": int64,
        "creationTime": st.sampled_from(["now", "1566172801"]),
    },
)
cache = st.one_of(
    st.fixed_dictionaries(
        {
            "volume": st.fixed_dictionaries(
                {"size": st.sampled_from(["2G", "5Gi"])}, optional={"storageClassName": nonempty}
            )
        }
    ),
    st.fixed_dictionaries({"volume": st.fixed_dictionaries({"storageClassName": nonempty})}),
    st.fixed_dictionaries({"registry": st.fixed_dictionaries({"tag": nonempty})}),
    st.fixed_dictionaries(
        {
            "volume": st.fixed_dictionaries({"size": st.just("1G"), "storageClassName": nonempty}),
            "registry": st.fixed_dictionaries({"tag": nonempty}),
        }
    ),
)
source = st.sampled_from(list(SOURCES.values()))
v2_spec = st.fixed_dictionaries(
    {"tag": nonempty, "source": source},
    optional={
        "builder": st.fixed_dictionaries(
            {"kind": st.sampled_from(["Builder", "ClusterBuilder"]), "name": names}
        ),
        "serviceAccountName": names,
        "cache": cache,
        "failedBuildHistoryLimit": st.integers(1, 20),
        "successBuildHistoryLimit": st.integers(1, 20),
        "imageTaggingStrategy": st.sampled_from(["None", "BuildNumber"]),
        "build": build,
        "notary": st.just(NOTARY),
        "projectDescriptorPath": nonempty,
        "cosign": st.lists(cosign_annotation, min_size=1, max_size=2).map(lambda a: {"annotations": a}),
        "defaultProcess": nonempty,
        "additionalTags": st.lists(nonempty, min_size=1, max_size=2),
    },
)
other_annotations = st.dictionaries(
    st.sampled_from(["team", "example.com/owner"]), text, min_size=1, max_size=2
)
images_v2 = st.builds(
    lambda spec, annotations, status: {
        "apiVersion": V2,
        "kind": "Image",
        "metadata": {
            "name": "app",
            "namespace": "ns",
            **({"annotations": annotations} if annotations else {}),
        },
        "spec": spec,
        **({"status": status} if status else {}),
    },
    v2_spec,
    st.one_of(st.none(), other_annotations),
    st.one_of(st.none(), st.just(STATUS)),
)


@settings(max_examples=300, deadline=None, database=None)
@given(images_v2)
def test_v1alpha2_to_v1alpha1_and_back_is_the_identity(doc: dict[str, Any]) -> None:
    before = copy.deepcopy(doc)
    v1 = conversion.convert(doc, V1)
    assert conversion.convert(v1, V2) == before
    assert doc == before


POINTERS = {"kpack.io/affinity", "kpack.io/runtimeClassName", "kpack.io/buildTimeout"}


def at(doc: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        doc = doc.get(key) if isinstance(doc, dict) else None
    return doc


def kpack_writes(annotation: str, value: Any) -> str | None:
    """What kpack's convertToAnnotations writes for a (canonical) value: nothing for an empty one
    unless it is a Go pointer; a string as it is, an integer in decimal, the rest as Go's JSON."""
    if value is None or (annotation not in POINTERS and value in ("", [], {})):
        return None
    if isinstance(value, str):
        return value
    return str(value) if isinstance(value, int) else golang.dumps(value)


@settings(max_examples=300, deadline=None, database=None)
@given(images_v2)
def test_every_carried_field_is_an_annotation_in_kpacks_encoding_and_not_in_the_v1alpha1_spec(
    doc: dict[str, Any],
) -> None:
    v1 = conversion.convert(doc, V1)
    annotations = v1["metadata"].get("annotations") or {}
    for carried in conversion.CARRIED:
        assert annotations.get(carried.annotation) == kpack_writes(
            carried.annotation, at(doc["spec"], carried.path)
        )
        if carried.path[0] != "cache":
            assert (
                at(v1["spec"], carried.path[:2] if carried.path[0] == "build" else carried.path[:1]) is None
            )
    assert "cache" not in v1["spec"]


@settings(max_examples=200, deadline=None, database=None)
@given(images_v2)
def test_a_v1alpha1_image_written_by_kpack_loses_nothing_read_and_written_again(doc: dict[str, Any]) -> None:
    """What kpack's conversion writes, Kiln reads back and writes the same."""
    written = conversion.convert(doc, V1)
    assert conversion.convert(conversion.convert(written, V2), V1) == written
