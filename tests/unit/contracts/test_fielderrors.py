"""knative FieldError semantics: nesting, accumulation, merging, sorting and the string form."""

from __future__ import annotations

import pytest

from contracts import fielderrors as fe


@pytest.mark.parametrize(
    ("error", "rendered"),
    [
        (fe.missing_field("tag").via_field("spec"), "missing field(s): spec.tag"),
        (fe.missing_field("name").via_field("spec", "builder"), "missing field(s): spec.builder.name"),
        (fe.disallowed_fields("a", "b"), "must not set the field(s): a, b"),
        (fe.invalid_value("FakeBuilder", "kind"), "invalid value: FakeBuilder: kind"),
        (fe.invalid_value(3, "x", "too", "big"), "invalid value: 3: x\ntoo, big"),
        (fe.invalid_array_value("a@@", "tags", 2).via_field("spec"), "invalid value: a@@: spec.tags[2]"),
        (fe.generic("something broke"), "something broke: "),
        (fe.generic("something broke").via_field("spec"), "something broke: "),
        (fe.generic("x", "volume", "registry").via_field("cache"), "x: cache.registry, cache.volume"),
        (
            fe.missing_one_of("git", "blob", "registry").via_field("spec", "source"),
            "expected exactly one, got neither: spec.source.blob, spec.source.git, spec.source.registry",
        ),
        (fe.multiple_one_of("git", "blob"), "expected exactly one, got both: blob, git"),
        (
            fe.invalid_key_name("kubernetes.io/os", "nodeSelector", "os is determined automatically"),
            'invalid key name "kubernetes.io/os": nodeSelector\nos is determined automatically',
        ),
        (fe.missing_field("name").via_index(0).via_field("services"), "missing field(s): services[0].name"),
        (fe.missing_field("[0]").via_field("bar", "foo"), "missing field(s): bar.foo[0]"),
        (fe.missing_field("x").via_index(1).via_index(0).via_field("f"), "missing field(s): f[0][1].x"),
        (fe.missing_field("x").via_field_index("f", 3), "missing field(s): f[3].x"),
        (fe.missing_field("x").via_field_key("labels", "app"), "missing field(s): labels[app].x"),
        (fe.missing_field("x").via_key("k"), "missing field(s): [k].x"),
        (fe.generic("x", fe.CURRENT_FIELD).via_field("name").via_field("metadata"), "x: metadata.name"),
        (fe.generic("dup", "a", "a"), "dup: a, a"),
    ],
    ids=[
        "a missing tag nested under spec names spec.tag",
        "via_field with several parts joins them with dots",
        "disallowed fields list every path",
        "an invalid value quotes the value after 'invalid value:'",
        "details of an invalid value are joined with a comma and printed on the next line",
        "an invalid array value attaches the index to the field",
        "an error without paths ends with a colon and a space",
        "nesting an error without paths adds none",
        "the paths of one error are printed sorted",
        "missing one of names all three sources sorted",
        "multiple one of names the ones that are set, sorted",
        "an invalid key name is Go-quoted and carries details",
        "an index sticks to the field before it",
        "an index path given directly sticks to the previous part",
        "two indices stack in nesting order",
        "via_field_index is via_index then via_field",
        "via_field_key is via_key then via_field",
        "a bare key becomes the first part",
        "the current field disappears in the path",
        "duplicate paths of a single error are kept, as knative does",
    ],
)
def test_rendering(error: fe.FieldError, rendered: str) -> None:
    assert str(error) == rendered


def test_accumulated_errors_are_merged_by_message_and_sorted() -> None:
    error = fe.also(
        fe.missing_field("url").via_field("git"),
        fe.invalid_value("FakeBuilder", "kind").via_field("builder"),
        fe.missing_field("revision").via_field("git"),
        fe.missing_field("revision").via_field("git"),
        None,
        fe.generic("Field cannot be decreased", "size").also(fe.generic("a note")),
    )
    assert error is not None
    assert error.via_field("spec").messages() == [
        "Field cannot be decreased: spec.size",
        "a note: ",
        "invalid value: FakeBuilder: spec.builder.kind",
        "missing field(s): spec.git.revision, spec.git.url",
    ]


@pytest.mark.parametrize(
    ("errors", "rendered"),
    [
        ((fe.FieldError("m", ("b",), "d2"), fe.FieldError("m", ("a",), "d1")), "m: a\nd1\nm: b\nd2"),
        ((fe.FieldError("m", ("b",), "d"), fe.FieldError("m", ("a", "b"), "d")), "m: a, b\nd"),
        ((fe.FieldError("b", ("x",)), fe.FieldError("a", ("y",))), "a: y\nb: x"),
    ],
    ids=[
        "same message but different details stay apart and sort by details",
        "same message and details merge their paths without duplicates",
        "different messages sort by message",
    ],
)
def test_merge_and_sort(errors: tuple[fe.FieldError, ...], rendered: str) -> None:
    assert str(fe.also(*errors)) == rendered


def test_nothing_to_report_is_none_and_empty_errors_are_falsy() -> None:
    assert fe.also() is None
    assert fe.also(None, fe.FieldError()) is None
    assert fe.via_field(None, "spec") is None
    assert not fe.FieldError()
    assert str(fe.FieldError()) == ""
    assert fe.FieldError().via_field("spec").is_empty()


def test_also_keeps_the_receiver_when_nothing_is_added() -> None:
    error = fe.missing_field("x")
    assert error.also(None, fe.FieldError()) is error
    assert fe.FieldError().also(error).normalized() == [error]


def test_a_container_with_a_message_of_its_own_lists_it_first() -> None:
    error = fe.generic("outer", "o").also(fe.generic("inner", "i"))
    assert [e.message for e in error.normalized()] == ["outer", "inner"]
    assert error.via_field("spec").merged() == [
        fe.FieldError("inner", ("spec.i",)),
        fe.FieldError("outer", ("spec.o",)),
    ]


@pytest.mark.parametrize(
    ("original", "current", "rendered"),
    [
        (
            "some/image",
            "something/different",
            "Immutable field changed: spec.tag\ngot: something/different, want: some/image",
        ),
        ("sc-name", "", "Immutable field changed: spec.tag\ngot: , want: sc-name"),
        ("same", "same", None),
    ],
    ids=[
        "a changed tag prints the new value as got and the old as want",
        "a removed value prints empty",
        "an unchanged value is fine",
    ],
)
def test_immutable_field(original: str, current: str, rendered: str | None) -> None:
    error = fe.via_field(fe.immutable_field(original, current, "tag"), "spec")
    assert (str(error) if error else None) == rendered
