"""Buildpackage images read into store entries (spec §2.2, checklist 2-3; kpack
remote_store_reader_test.go), and labels read as Go's json.Unmarshal reads them."""

from __future__ import annotations

import json
from typing import Any

import builder_fixtures as fx
import pytest

from contracts import buildpacks, golang
from services.builder import labels, stores
from services.builder.problems import BuilderProblem

PACKAGE_A = "build/package_a"
PACKAGE_B = "build/package_b"
LAYERS = "io.buildpacks.buildpack.layers"
PACKAGE = "io.buildpacks.buildpackage.metadata"
META_DIFF = "sha256:1c6d357a885d873824545b40e1ccc9fd228c2dd38ba0acb9649955daf2941f94"
MULTI1_DIFF = "sha256:114e397795eceac649afc159afb229211a9ad97b908f7ace225736b8774d9b00"
MULTI2_DIFF = "sha256:fcc1dd482e41209737dadce3afd276a93d10d974c174fb72adddd3925b2f31d5"
SIMPLE_DIFF = "sha256:1fe2cf74b742ec16c76b9e996c247c78aa41905fe86b744db998094b4bcaf38a"
META_DIGEST = "sha256:c375a5c675104fe85cbd3042f5cfa6b1e56573c6d4e5d11224a62598532f3cc1"
MULTI1_DIGEST = "sha256:52f341c7c36e21e5c344856dd61bc8c2d1188647f259eaba6d375e37c9aed08e"
MULTI2_DIGEST = "sha256:d345d1b12ae6b3f7cfc617f7adaebe06c32ce60b1aa30bb80fb622b65523de8f"
SIMPLE_DIGEST = "sha256:6aa3691a73805f608e5fce69fb6bc89aec8362f58a6b4be2682515e9cfa3cc1a"


def multi(diff_id: str, homepage: str) -> dict[str, Any]:
    stacks = [{"id": "org.some.stack", "mixins": ["multi:mixin"]}, {"id": "org.multi.only.stack"}]
    return {"layerDiffID": diff_id, "api": "0.2", "homepage": homepage, "stacks": stacks}


PACKAGE_A_LAYERS = {
    "org.buildpack.meta": {
        "0.0.2": {
            "layerDiffID": META_DIFF,
            "order": [
                {"group": [{"id": "org.buildpack.multi", "version": "0.0.1"}]},
                {"group": [{"id": "org.buildpack.multi", "version": "0.0.2"}]},
            ],
            "api": "0.2",
            "homepage": "buildpack.meta.com",
            "stacks": [{"id": "org.some.stack", "mixins": ["meta:mixin"]}, {"id": "org.meta.only.stack"}],
        }
    },
    "org.buildpack.multi": {
        "0.0.1": multi(MULTI1_DIFF, "buildpack.multi.com/v1"),
        "0.0.2": multi(MULTI2_DIFF, "buildpack.multi.com/v2"),
    },
}
PACKAGE_B_LAYERS = {
    "org.buildpack.simple": {
        "0.0.1": {
            "layerDiffID": SIMPLE_DIFF,
            "api": "0.2",
            "homepage": "buildpack.simple.com",
            "stacks": [{"id": "org.some.stack", "mixins": ["simple:mixin"]}, {"id": "org.simple.only.stack"}],
        }
    }
}


def package_metadata(bp_id: str, version: str, **extra: Any) -> str:
    stacks = [{"id": "org.some.stack"}, {"id": "org.simple.only.stack"}]
    return json.dumps({"id": bp_id, "version": version, **extra, "stacks": stacks})


def package_a() -> Any:
    return fx.image(
        repository="index.docker.io/build/package_a",
        labels={
            LAYERS: json.dumps(PACKAGE_A_LAYERS),
            PACKAGE: package_metadata("org.buildpack.meta", "0.0.2", homepage="some-homepage"),
        },
        layers=[
            (META_DIGEST, META_DIFF, 10),
            (MULTI1_DIGEST, MULTI1_DIFF, 20),
            (MULTI2_DIGEST, MULTI2_DIFF, 30),
        ],
    )


def package_b(*, homepage: bool = True) -> Any:
    extra = {"homepage": "some-homepage"} if homepage else {}
    return fx.image(
        labels={
            LAYERS: json.dumps(PACKAGE_B_LAYERS),
            PACKAGE: package_metadata("org.buildpack.simple", "0.0.1", **extra),
        },
        layers=[(SIMPLE_DIGEST, SIMPLE_DIFF, 40)],
    )


META_PACKAGE = {"id": "org.buildpack.meta", "version": "0.0.2", "homepage": "some-homepage"}


def multi_status(version: str, diff_id: str, digest: str, size: int) -> dict[str, Any]:
    return {
        "id": "org.buildpack.multi",
        "version": version,
        "buildpackage": META_PACKAGE,
        "storeImage": {"image": PACKAGE_A},
        "diffId": diff_id,
        "digest": digest,
        "size": size,
        "api": "0.2",
        "homepage": f"buildpack.multi.com/v{version[-1]}",
        "stacks": [{"id": "org.some.stack", "mixins": ["multi:mixin"]}, {"id": "org.multi.only.stack"}],
    }


EXPECTED_A = [
    {
        "id": "org.buildpack.meta",
        "version": "0.0.2",
        "buildpackage": META_PACKAGE,
        "storeImage": {"image": PACKAGE_A},
        "diffId": META_DIFF,
        "digest": META_DIGEST,
        "size": 10,
        "api": "0.2",
        "homepage": "buildpack.meta.com",
        "order": [
            {"group": [{"id": "org.buildpack.multi", "version": "0.0.1"}]},
            {"group": [{"id": "org.buildpack.multi", "version": "0.0.2"}]},
        ],
        "stacks": [{"id": "org.some.stack", "mixins": ["meta:mixin"]}, {"id": "org.meta.only.stack"}],
    },
    multi_status("0.0.1", MULTI1_DIFF, MULTI1_DIGEST, 20),
    multi_status("0.0.2", MULTI2_DIFF, MULTI2_DIGEST, 30),
]


def simple_status(store_image: str, *, homepage: bool = True) -> dict[str, Any]:
    package = {
        "id": "org.buildpack.simple",
        "version": "0.0.1",
        **({"homepage": "some-homepage"} if homepage else {}),
    }
    return {
        "id": "org.buildpack.simple",
        "version": "0.0.1",
        "buildpackage": package,
        "storeImage": {"image": store_image},
        "diffId": SIMPLE_DIFF,
        "digest": SIMPLE_DIGEST,
        "size": 40,
        "api": "0.2",
        "homepage": "buildpack.simple.com",
        "stacks": [{"id": "org.some.stack", "mixins": ["simple:mixin"]}, {"id": "org.simple.only.stack"}],
    }


def dumped(entries: list[buildpacks.BuildpackStatus]) -> list[dict[str, Any]]:
    return [entry.dump() for entry in entries]


def test_a_store_of_two_buildpackages_lists_all_their_buildpacks_sorted() -> None:
    found = [
        stores.read_buildpackage(PACKAGE_A, package_a()),
        stores.read_buildpackage(PACKAGE_B, package_b()),
    ]
    assert dumped(stores.store_buildpacks(found)) == [*EXPECTED_A, simple_status(PACKAGE_B)]


def test_the_order_of_images_does_not_change_the_store() -> None:
    a, b = stores.read_buildpackage(PACKAGE_A, package_a()), stores.read_buildpackage(PACKAGE_B, package_b())
    assert stores.store_buildpacks([b, a]) == stores.store_buildpacks([a, b])


def test_duplicate_buildpacks_are_kept_and_ordered_by_store_image() -> None:
    duplicates = stores.read_buildpackage("image/with_duplicates", package_b(homepage=False))
    b = stores.read_buildpackage(PACKAGE_B, package_b())
    a = stores.read_buildpackage(PACKAGE_A, package_a())
    merged = dumped(stores.store_buildpacks([duplicates, b, a]))
    assert merged == [
        *EXPECTED_A,
        simple_status(PACKAGE_B),
        simple_status("image/with_duplicates", homepage=False),
    ]


def test_a_meta_buildpack_and_its_child_from_the_spec_checklist() -> None:
    labels = {
        LAYERS: json.dumps(
            {
                "a": {
                    "1": {
                        "api": "0.7",
                        "layerDiffID": fx.sha("1"),
                        "order": [{"group": [{"id": "b", "version": "1"}]}],
                    }
                },
                "b": {"1": {"api": "0.7", "layerDiffID": fx.sha("2")}},
            }
        ),
        PACKAGE: json.dumps({"id": "a", "version": "1"}),
    }
    image = fx.image(labels=labels, layers=[(fx.sha("a"), fx.sha("1"), 300), (fx.sha("b"), fx.sha("2"), 200)])
    assert dumped(stores.read_buildpackage("registry.io/pkg:1", image)) == [
        {
            "id": "a",
            "version": "1",
            "buildpackage": {"id": "a", "version": "1"},
            "storeImage": {"image": "registry.io/pkg:1"},
            "diffId": fx.sha("1"),
            "digest": fx.sha("a"),
            "size": 300,
            "api": "0.7",
            "order": [{"group": [{"id": "b", "version": "1"}]}],
        },
        {
            "id": "b",
            "version": "1",
            "buildpackage": {"id": "a", "version": "1"},
            "storeImage": {"image": "registry.io/pkg:1"},
            "diffId": fx.sha("2"),
            "digest": fx.sha("b"),
            "size": 200,
            "api": "0.7",
        },
    ]


def bp_layers(info: Any) -> str:
    return json.dumps({"bp": {"1": info}})


def one(info: dict[str, Any], *, package: str | None = None, layers: Any = None) -> Any:
    labels = {LAYERS: json.dumps({"bp": {"1": info}})}
    if package is not None:
        labels[PACKAGE] = package
    return fx.image(labels=labels, layers=layers if layers is not None else [(fx.sha("a"), fx.sha("1"), 5)])


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        pytest.param(
            one({"layerDiffID": fx.sha("1")}),
            {
                "id": "bp",
                "version": "1",
                "buildpackage": {},
                "storeImage": {"image": "s"},
                "diffId": fx.sha("1"),
                "digest": fx.sha("a"),
                "size": 5,
            },
            id="without a package label the buildpackage is empty and unset fields are left out",
        ),
        pytest.param(
            one({"LayerDiffId": fx.sha("1"), "API": "0.9", "targets": [{"os": "linux"}]}),
            {
                "id": "bp",
                "version": "1",
                "buildpackage": {},
                "storeImage": {"image": "s"},
                "diffId": fx.sha("1"),
                "digest": fx.sha("a"),
                "size": 5,
                "api": "0.9",
            },
            id="keys match case-insensitively and unknown keys such as targets are dropped",
        ),
        pytest.param(
            one({"layerDiffID": fx.sha("1"), "order": [], "stacks": [], "homepage": ""}),
            {
                "id": "bp",
                "version": "1",
                "buildpackage": {},
                "storeImage": {"image": "s"},
                "diffId": fx.sha("1"),
                "digest": fx.sha("a"),
                "size": 5,
            },
            id="empty order and stacks are left out as Go's omitempty does",
        ),
        pytest.param(
            one(
                {
                    "layerDiffID": fx.sha("1"),
                    "order": [
                        {"group": [{"id": "x", "optional": True}, {"id": "y", "version": ""}]},
                        {"group": None},
                    ],
                    "stacks": [{"id": "*", "mixins": []}],
                }
            ),
            {
                "id": "bp",
                "version": "1",
                "buildpackage": {},
                "storeImage": {"image": "s"},
                "diffId": fx.sha("1"),
                "digest": fx.sha("a"),
                "size": 5,
                "order": [{"group": [{"id": "x", "optional": True}, {"id": "y"}]}, {}],
                "stacks": [{"id": "*"}],
            },
            id="an optional child keeps optional and an empty version or group is left out",
        ),
        pytest.param(
            one(
                {"layerDiffID": fx.sha("1")},
                package='{"id": "a", "ID": "b", "homepage": null, "version": "2"}',
            ),
            {
                "id": "bp",
                "version": "1",
                "buildpackage": {"id": "b", "version": "2"},
                "storeImage": {"image": "s"},
                "diffId": fx.sha("1"),
                "digest": fx.sha("a"),
                "size": 5,
            },
            id="of two keys for one field the last wins and null leaves a string empty",
        ),
        pytest.param(
            one(
                {"layerDiffID": fx.sha("1")},
                layers=[(fx.sha("a"), fx.sha("1"), 5), (fx.sha("a"), fx.sha("2"), 9)],
            ),
            {
                "id": "bp",
                "version": "1",
                "buildpackage": {},
                "storeImage": {"image": "s"},
                "diffId": fx.sha("1"),
                "digest": fx.sha("a"),
                "size": 5,
            },
            id="the size is the first manifest layer's of that digest",
        ),
        pytest.param(
            one(
                {"layerDiffID": fx.sha("2")},
                layers=[(fx.sha("b"), fx.sha("1"), 9), (fx.sha("a"), fx.sha("2"), 5)],
            ),
            {
                "id": "bp",
                "version": "1",
                "buildpackage": {},
                "storeImage": {"image": "s"},
                "diffId": fx.sha("2"),
                "digest": fx.sha("a"),
                "size": 5,
            },
            id="the layer is found by the position of its diff id in the config",
        ),
    ],
)
def test_one_buildpack_entry(image: Any, expected: dict[str, Any]) -> None:
    assert dumped(stores.read_buildpackage("s", image)) == [expected]


@pytest.mark.parametrize(
    ("layers_label", "expected"),
    [
        pytest.param("null", [], id="a null layers label lists nothing"),
        pytest.param("{}", [], id="an empty layers label lists nothing"),
        pytest.param('{"bp": null, "other": {}}', [], id="an id without versions lists nothing"),
    ],
)
def test_labels_that_list_no_buildpack(layers_label: str, expected: list[Any]) -> None:
    assert stores.read_buildpackage("s", fx.image(labels={LAYERS: layers_label})) == expected


@pytest.mark.parametrize(
    ("image", "message"),
    [
        pytest.param(
            fx.image(labels={PACKAGE: "{}"}),
            "could not find label io.buildpacks.buildpack.layers",
            id="a store image without the layers label fails",
        ),
        pytest.param(
            one({"layerDiffID": ""}),
            'unable to parse layer diffId for bp@1: cannot parse hash: ""',
            id="an empty diff id does not parse",
        ),
        pytest.param(
            fx.image(labels={LAYERS: '{"bp": {"1": null}}'}),
            'unable to parse layer diffId for bp@1: cannot parse hash: ""',
            id="a null entry is Go's zero entry, without a diff id",
        ),
        pytest.param(
            one({"layerDiffID": "sha256:a:b"}),
            'unable to parse layer diffId for bp@1: cannot parse hash: "sha256:a:b"',
            id="a diff id of three parts does not parse",
        ),
        pytest.param(
            one({"layerDiffID": "sha256:" + "A" * 64}),
            "unable to parse layer diffId for bp@1: found non-hex character in hash: A",
            id="upper-case hex is not hex to go-containerregistry",
        ),
        pytest.param(
            one({"layerDiffID": "sha256:é"}),
            "unable to parse layer diffId for bp@1: found non-hex character in hash: Ã",
            id="a non-hex character is printed as its first byte",
        ),
        pytest.param(
            one({"layerDiffID": "sha512:" + "a" * 128}),
            'unable to parse layer diffId for bp@1: unsupported hash: "sha512"',
            id="only sha256 is supported",
        ),
        pytest.param(
            one({"layerDiffID": "sha256:abc"}),
            "unable to parse layer diffId for bp@1: wrong number of hex digits for sha256: abc",
            id="a short hash does not parse",
        ),
        pytest.param(
            one({"layerDiffID": fx.sha("9")}),
            f"unable to get layer bp@1: unknown diffID {fx.sha('9')}",
            id="a diff id not in the image fails",
        ),
        pytest.param(
            fx.image(
                labels={LAYERS: bp_layers({"layerDiffID": fx.sha("1")})},
                layers=[(fx.sha("a"), fx.sha("1"), 5)],
                diff_ids=[fx.sha("1"), fx.sha("2")],
            ),
            "unable to get layer bp@1: mismatched fs layers (1) and diff ids (2)",
            id="a config listing more diff ids than the manifest has layers fails",
        ),
    ],
)
def test_buildpackages_that_cannot_be_read(image: Any, message: str) -> None:
    with pytest.raises(BuilderProblem) as problem:
        stores.read_buildpackage("s", image)
    assert str(problem.value) == message


def test_the_first_failing_buildpack_in_status_order_is_reported() -> None:
    labels = {
        LAYERS: json.dumps({"z": {"1": {"layerDiffID": "bad-z"}}, "a": {"1": {"layerDiffID": "bad-a"}}})
    }
    with pytest.raises(BuilderProblem, match=r"^unable to parse layer diffId for a@1: "):
        stores.read_buildpackage("s", fx.image(labels=labels))


# Labels as Go's encoding/json reads them ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("", "unexpected end of JSON input", id="empty text ends early"),
        pytest.param(" {", "unexpected end of JSON input", id="an unclosed object ends early"),
        pytest.param("[1,", "unexpected end of JSON input", id="an unclosed array ends early"),
        pytest.param('"abc', "unexpected end of JSON input", id="an unclosed string ends early"),
        pytest.param(
            "t",
            "invalid character ' ' in literal true (expecting 'r')",
            id="a cut literal true fails on Go's added space",
        ),
        pytest.param(
            "fx",
            "invalid character 'x' in literal false (expecting 'a')",
            id="a misspelt false names the expected letter",
        ),
        pytest.param(
            "nul",
            "invalid character ' ' in literal null (expecting 'l')",
            id="a cut null names the expected letter",
        ),
        pytest.param(
            "tru",
            "invalid character ' ' in literal true (expecting 'e')",
            id="a cut true names its last letter",
        ),
        pytest.param(
            "1.",
            "invalid character ' ' after decimal point in numeric literal",
            id="a number cut after its point",
        ),
        pytest.param(
            "1.x",
            "invalid character 'x' after decimal point in numeric literal",
            id="a letter after a decimal point",
        ),
        pytest.param("-", "invalid character ' ' in numeric literal", id="a lone minus"),
        pytest.param("-a", "invalid character 'a' in numeric literal", id="a minus before a letter"),
        pytest.param(
            "1e", "invalid character ' ' in exponent of numeric literal", id="an exponent without digits"
        ),
        pytest.param(
            "1E+",
            "invalid character ' ' in exponent of numeric literal",
            id="a signed exponent without digits",
        ),
        pytest.param('"\\', "invalid character ' ' in string escape code", id="a cut escape"),
        pytest.param('"\\x"', "invalid character 'x' in string escape code", id="an unknown escape"),
        pytest.param(
            '"\\u12g4"',
            "invalid character 'g' in \\u hexadecimal character escape",
            id="a bad unicode escape",
        ),
        pytest.param('"a\nb"', "invalid character '\\n' in string literal", id="a raw newline in a string"),
        pytest.param(
            "[1,]", "invalid character ']' looking for beginning of value", id="a trailing comma in an array"
        ),
        pytest.param(
            '{"a":1,}',
            "invalid character '}' looking for beginning of object key string",
            id="a trailing comma in an object",
        ),
        pytest.param(
            "{,}",
            "invalid character ',' looking for beginning of object key string",
            id="an object starting with a comma",
        ),
        pytest.param('{"a"}', "invalid character '}' after object key", id="a key without a value"),
        pytest.param(
            '{"a":1 "b":2}',
            "invalid character '\"' after object key:value pair",
            id="a missing comma between members",
        ),
        pytest.param(
            "[1 2]", "invalid character '2' after array element", id="a missing comma between elements"
        ),
        pytest.param("[}", "invalid character '}' looking for beginning of value", id="a mismatched bracket"),
        pytest.param("01", "invalid character '1' after top-level value", id="a leading zero"),
        pytest.param('{"a":1}x', "invalid character 'x' after top-level value", id="text after the value"),
        pytest.param("'a'", "invalid character '\\'' looking for beginning of value", id="single quotes"),
        pytest.param("NaN", "invalid character 'N' looking for beginning of value", id="NaN is not JSON"),
        pytest.param(
            "é",
            "invalid character 'Ã' looking for beginning of value",
            id="a non-ASCII start is printed as its first byte",
        ),
        pytest.param(
            "\x7f",
            "invalid character '\\x7f' looking for beginning of value",
            id="a control character is escaped",
        ),
        pytest.param(
            "\ufeff{}",
            "invalid character 'ï' looking for beginning of value",
            id="a byte order mark is not skipped",
        ),
        pytest.param(
            "[" * 10001, "invalid character '[' exceeded max depth", id="nesting deeper than Go's limit"
        ),
    ],
)
def test_go_json_syntax_errors(text: str, message: str) -> None:
    with pytest.raises(BuilderProblem) as problem:
        labels.json_label(fx.image(labels={"x": text}), key="x", go_type=golang.STRINGS)
    assert str(problem.value) == message


@pytest.mark.parametrize(
    ("text", "go_type", "expected"),
    [
        pytest.param('"\\u00e9\\n\\/\\"\\\\\\t"', golang.STRING, 'é\n/"\\\t', id="every escape decodes"),
        pytest.param(' [ "a" ,\t"b" ] \r\n', golang.STRINGS, ["a", "b"], id="whitespace between any tokens"),
        pytest.param("null", golang.STRINGS, None, id="null is a nil slice"),
        pytest.param("[]", golang.STRINGS, [], id="an empty list is an empty slice"),
        pytest.param(
            '{"a": [[{}], 1.5e-3, -0, -12.50E+10, 10, true, false, null]}',
            golang.Struct("t.T"),
            {},
            id="numbers and literals of every shape are JSON",
        ),
    ],
)
def test_go_json_valid_text(text: str, go_type: golang.GoType, expected: Any) -> None:
    assert labels.json_label(fx.image(labels={"x": text}), key="x", go_type=go_type) == expected


@pytest.mark.parametrize(
    ("label", "text", "message"),
    [
        pytest.param(
            LAYERS,
            "[]",
            "json: cannot unmarshal array into Go value of type cnb.BuildpackLayerMetadata",
            id="a layers label that is a list",
        ),
        pytest.param(
            LAYERS,
            '{"bp": "x"}',
            "json: cannot unmarshal string into Go value of type map[string]cnb.BuildpackLayerInfo",
            id="versions that are a string",
        ),
        pytest.param(
            LAYERS,
            '{"bp": {"1": 7}}',
            "json: cannot unmarshal number into Go value of type cnb.BuildpackLayerInfo",
            id="an entry that is a number",
        ),
        pytest.param(
            LAYERS,
            bp_layers({"api": 0.7}),
            "json: cannot unmarshal number into Go struct field BuildpackLayerInfo.api of type string",
            id="an api that is a number",
        ),
        pytest.param(
            LAYERS,
            bp_layers({"order": {}}),
            "json: cannot unmarshal object into Go struct field BuildpackLayerInfo.order of type v1alpha1.Order",
            id="an order that is an object",
        ),
        pytest.param(
            LAYERS,
            bp_layers({"order": [{"group": "x"}]}),
            "json: cannot unmarshal string into Go struct field OrderEntry.order.group of type []v1alpha1.BuildpackRef",
            id="a group that is a string",
        ),
        pytest.param(
            LAYERS,
            bp_layers({"order": [{"group": [[]]}]}),
            "json: cannot unmarshal array into Go struct field OrderEntry.order.group of type v1alpha1.BuildpackRef",
            id="a group entry that is a list",
        ),
        pytest.param(
            LAYERS,
            bp_layers({"order": [{"group": [{"id": True}]}]}),
            "json: cannot unmarshal bool into Go struct field BuildpackRef.order.group.BuildpackInfo.id of type string",
            id="a child id that is a bool names the embedded struct",
        ),
        pytest.param(
            LAYERS,
            bp_layers({"order": [{"group": [{"optional": "yes"}]}]}),
            "json: cannot unmarshal string into Go struct field BuildpackRef.order.group.optional of type bool",
            id="an optional that is a string",
        ),
        pytest.param(
            LAYERS,
            bp_layers({"stacks": [{"mixins": [1]}]}),
            "json: cannot unmarshal number into Go struct field BuildpackStack.stacks.mixins of type string",
            id="a mixin that is a number",
        ),
        pytest.param(
            LAYERS,
            bp_layers({"stacks": [{"id": "a"}], "api": []}),
            "json: cannot unmarshal array into Go struct field BuildpackLayerInfo.api of type string",
            id="the context returns to the outer struct after a field",
        ),
        pytest.param(
            PACKAGE,
            '{"id": {}}',
            "json: cannot unmarshal object into Go struct field BuildpackageMetadata.id of type string",
            id="a package id that is an object",
        ),
        pytest.param(
            PACKAGE,
            '"x"',
            "json: cannot unmarshal string into Go value of type cnb.BuildpackageMetadata",
            id="a package label that is a string",
        ),
        pytest.param(
            PACKAGE,
            "{not json}",
            "invalid character 'n' looking for beginning of object key string",
            id="a package label that is not JSON",
        ),
    ],
)
def test_go_json_type_errors(label: str, text: str, message: str) -> None:
    labels = {LAYERS: "{}", label: text}
    with pytest.raises(BuilderProblem) as problem:
        stores.read_buildpackage("s", fx.image(labels=labels))
    assert str(problem.value) == message


def test_a_label_nested_deeper_than_python_parses_fails_as_too_deep() -> None:
    text = '{"bp": {"1": {"unknown": ' + "[" * 5000 + "]" * 5000 + "}}}"
    with pytest.raises(BuilderProblem, match=r"^exceeded max depth$"):
        stores.read_buildpackage("s", fx.image(labels={LAYERS: text}))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            '{"a": "x", "A": "y"}', {"a": "y", "b": False}, id="a struct field given twice takes the last"
        ),
        pytest.param('{"b": true, "b": null}', {"a": "", "b": True}, id="null leaves a field as it was"),
        pytest.param('{"\u017fb": 1}', {"a": "", "b": False}, id="an unknown key of any type is ignored"),
    ],
)
def test_struct_decoding(text: str, expected: dict[str, Any]) -> None:
    go_type = golang.Struct("t.T", (golang.Field("a", golang.STRING), golang.Field("b", golang.BOOL)))
    assert labels.json_label(fx.image(labels={"x": text}), key="x", go_type=go_type) == expected


def test_go_case_folding_maps_the_kelvin_sign_and_the_long_s() -> None:
    go_type = golang.Struct("t.T", (golang.Field("kas", golang.STRING),))
    assert labels.json_label(fx.image(labels={"x": '{"\u212aa\u017f": "v"}'}), key="x", go_type=go_type) == {
        "kas": "v"
    }
