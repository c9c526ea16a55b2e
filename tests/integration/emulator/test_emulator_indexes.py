"""The emulator's label index answers a selected list exactly as a scan of every object would, and at
the cost of what it returns."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.testbed.emulator import indexes, selectors

NAMESPACES = ["a", "b"]
NAMES = ["n1", "n2", "n3", "n4"]
KEYS = ["app", "tier", "image.kpack.io/image"]
VALUES = ["x", "y", "z"]

labels_strategy = st.dictionaries(st.sampled_from(KEYS), st.sampled_from(VALUES), max_size=3)
put = st.tuples(st.just("put"), st.sampled_from(NAMESPACES), st.sampled_from(NAMES), labels_strategy)
remove = st.tuples(st.just("remove"), st.sampled_from(NAMESPACES), st.sampled_from(NAMES), st.just({}))
term = st.one_of(
    st.builds(lambda k, v: f"{k}={v}", st.sampled_from(KEYS), st.sampled_from(VALUES)),
    st.builds(lambda k, v: f"{k}!={v}", st.sampled_from(KEYS), st.sampled_from(VALUES)),
    st.builds(
        lambda k, vs: f"{k} in ({','.join(vs)})",
        st.sampled_from(KEYS),
        st.lists(st.sampled_from(VALUES), min_size=1, max_size=2),
    ),
    st.builds(lambda k, v: f"{k} notin ({v})", st.sampled_from(KEYS), st.sampled_from(VALUES)),
    st.sampled_from(KEYS),
    st.builds(lambda k: f"!{k}", st.sampled_from(KEYS)),
)


def _obj(namespace: str, name: str, labels: dict[str, str], version: int) -> dict[str, Any]:
    return {"metadata": {"namespace": namespace, "name": name, "labels": labels, "resourceVersion": version}}


@settings(max_examples=300, deadline=None)
@given(
    writes=st.lists(st.one_of(put, remove), max_size=25),
    terms=st.lists(term, max_size=3),
    namespace=st.sampled_from([None, *NAMESPACES]),
)
def test_an_indexed_selection_is_what_a_scan_of_every_object_finds(
    writes: list[tuple[str, str, str, dict[str, str]]], terms: list[str], namespace: str | None
) -> None:
    shelf = indexes.Shelf()
    stored: dict[tuple[str, str], dict[str, Any]] = {}
    for version, (verb, ns, name, labels) in enumerate(writes):
        if verb == "put":
            stored[(ns, name)] = _obj(ns, name, labels, version)
            shelf.put(ns, name, stored[(ns, name)])
        else:
            stored.pop((ns, name), None)
            shelf.remove(ns, name)
    selector = selectors.label_selector(",".join(terms))

    found = [obj for obj in shelf.candidates(namespace, selector) if selector(obj)]
    scanned = [obj for (ns, _), obj in stored.items() if namespace in (None, ns) and selector(obj)]

    assert sorted(map(id, found)) == sorted(map(id, scanned))
    assert len(shelf) == len(stored)
    assert sorted(shelf.names()) == sorted(stored)


@pytest.mark.parametrize(
    ("selector", "read"),
    [
        pytest.param("image.kpack.io/image=app-7", 3, id="one value reads the objects carrying it"),
        pytest.param("image.kpack.io/image in (app-1,app-2)", 6, id="a set reads the objects of each value"),
        pytest.param(
            "image.kpack.io/image=app-7,kpack.io/build", 3, id="the narrowest term of several is read"
        ),
        pytest.param("image.kpack.io/image!=app-7", 300, id="a negative term alone reads the namespace"),
    ],
)
def test_a_selected_list_reads_what_it_can_return(selector: str, read: int) -> None:
    shelf = indexes.Shelf()
    for image in range(100):
        for build in range(3):
            name = f"app-{image}-build-{build}"
            labels = {"image.kpack.io/image": f"app-{image}", "kpack.io/build": name}
            shelf.put("ns", name, _obj("ns", name, labels, 1))
    shelf.put("other", "app-7-build-0", _obj("other", "app-7-build-0", {"image.kpack.io/image": "app-7"}, 1))

    assert len(list(shelf.candidates("ns", selectors.label_selector(selector)))) == read


def test_a_relabelled_object_is_found_by_its_new_labels_only() -> None:
    shelf = indexes.Shelf()
    shelf.put("ns", "o", _obj("ns", "o", {"app": "old"}, 1))
    shelf.put("ns", "o", _obj("ns", "o", {"app": "new"}, 2))

    assert list(shelf.candidates("ns", selectors.label_selector("app=old"))) == []
    assert [
        o["metadata"]["resourceVersion"] for o in shelf.candidates("ns", selectors.label_selector("app=new"))
    ] == [2]
