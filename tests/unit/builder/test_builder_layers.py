"""kpack's own builder layers: the default directories, /cnb/stack.toml and /cnb/order.toml, with
the exact TOML bytes BurntSushi's encoder writes (kpack's create_builder_test.go)."""

from __future__ import annotations

import gzip
import io
import tarfile

import pytest

from contracts import buildpacks
from services.builder import layers, tars

MTIME_1980 = 315532801
RUN_IMAGE = "custom/example:test-builder-run-image@sha256:" + "a" * 64


def entries(layer: tars.GzipLayer) -> list[tuple[str, str, int, int, int, int, bytes]]:
    """name, kind, mode, uid, gid, mtime and content of every entry, read back by Python's tarfile."""
    out = []
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer.blob)), mode="r:") as tar:
        for member in tar.getmembers():
            file = tar.extractfile(member) if member.isfile() else None
            content = file.read() if file else b""
            kind = "dir" if member.isdir() else "file"
            out.append((member.name, kind, member.mode, member.uid, member.gid, int(member.mtime), content))
    return out


def order(*groups: list[tuple[str, str, bool]]) -> list[buildpacks.OrderEntry]:
    return [
        buildpacks.OrderEntry(
            group=[buildpacks.BuildpackRef(id=i, version=v, optional=o) for i, v, o in group]
        )
        for group in groups
    ]


def test_the_default_directories_are_owned_as_kpack_owns_them() -> None:
    assert entries(layers.default_dirs_layer(uid=4000, gid=3000)) == [
        ("/workspace", "dir", 0o755, 4000, 3000, MTIME_1980, b""),
        ("/layers", "dir", 0o755, 4000, 3000, MTIME_1980, b""),
        ("/cnb", "dir", 0o755, 0, 0, MTIME_1980, b""),
        ("/cnb/buildpacks", "dir", 0o755, 0, 0, MTIME_1980, b""),
        ("/platform", "dir", 0o755, 0, 0, MTIME_1980, b""),
        ("/platform/env", "dir", 0o755, 0, 0, MTIME_1980, b""),
    ]


def test_the_default_directories_tar_is_six_headers_and_the_end() -> None:
    tar = gzip.decompress(layers.default_dirs_layer(uid=1000, gid=1000).blob)
    assert len(tar) == 6 * 512 + 1024
    assert tar[-1024:] == bytes(1024)


def test_the_stack_layer_holds_stack_toml() -> None:
    assert entries(layers.stack_layer(RUN_IMAGE)) == [
        (
            "/cnb/stack.toml",
            "file",
            0o644,
            0,
            0,
            MTIME_1980,
            f'[run-image]\n  image = "{RUN_IMAGE}"\n'.encode(),
        )
    ]


def test_the_order_layer_holds_order_toml() -> None:
    assert entries(layers.order_layer(order([("io.buildpack.1", "v1", False)]))) == [
        (
            "/cnb/order.toml",
            "file",
            0o644,
            0,
            0,
            MTIME_1980,
            b'[[order]]\n\n  [[order.group]]\n    id = "io.buildpack.1"\n    version = "v1"\n',
        )
    ]


@pytest.mark.parametrize(
    ("run_image", "expected"),
    [
        pytest.param(
            RUN_IMAGE, f'[run-image]\n  image = "{RUN_IMAGE}"\n', id="the run image is quoted under run-image"
        ),
        pytest.param(
            'a"b\\c', '[run-image]\n  image = "a\\"b\\\\c"\n', id="quotes and backslashes are escaped"
        ),
        pytest.param(
            "a\tb\nc\rd\be\ff",
            '[run-image]\n  image = "a\\tb\\nc\\rd\\be\\ff"\n',
            id="tab, newline, carriage return, backspace and form feed have short escapes",
        ),
        pytest.param(
            "a\x00b\x1fc\x7fd\x0be",
            '[run-image]\n  image = "a\\u0000b\\u001fc\\u007fd\\u000be"\n',
            id="other control characters and DEL are unicode escapes",
        ),
        pytest.param(
            "caf\u00e9", '[run-image]\n  image = "caf\u00e9"\n', id="non-ASCII text is written as is"
        ),
    ],
)
def test_stack_toml(run_image: str, expected: str) -> None:
    assert layers.stack_toml(run_image) == expected


ONE_GROUP = """[[order]]

  [[order.group]]
    id = "io.buildpack.1"
    version = "v1"

  [[order.group]]
    id = "io.buildpack.2"
    version = "v2"
    optional = true

  [[order.group]]
    id = "io.buildpack.4"
    version = "v4"
"""
TWO_GROUPS = """[[order]]

  [[order.group]]
    id = "a"
    version = "1"

[[order]]

  [[order.group]]
    id = "b"
    version = ""
    optional = true
"""
EMPTY_GROUP_FIRST = """[[order]]
  group = []

[[order]]

  [[order.group]]
    id = "a"
    version = "1"
"""


@pytest.mark.parametrize(
    ("resolved", "expected"),
    [
        pytest.param(
            order(
                [
                    ("io.buildpack.1", "v1", False),
                    ("io.buildpack.2", "v2", True),
                    ("io.buildpack.4", "v4", False),
                ]
            ),
            ONE_GROUP,
            id="kpack's example: a table per buildpack, optional only when true",
        ),
        pytest.param(
            order([("a", "1", False)], [("b", "", True)]),
            TWO_GROUPS,
            id="a second group follows an empty line and an empty version is still written",
        ),
        pytest.param([], "order = []\n", id="an empty order is an inline empty array"),
        pytest.param(
            order([], [("a", "1", False)]), EMPTY_GROUP_FIRST, id="an empty group is an inline empty array"
        ),
        pytest.param(
            order([('id\\with"quote', "v", False)]),
            '[[order]]\n\n  [[order.group]]\n    id = "id\\\\with\\"quote"\n    version = "v"\n',
            id="ids are quoted as TOML strings",
        ),
    ],
)
def test_order_toml(resolved: list[buildpacks.OrderEntry], expected: str) -> None:
    assert layers.order_toml(resolved) == expected


def test_equal_orders_give_equal_diff_ids_and_different_orders_different_ones() -> None:
    one = order([("a", "1", False)])
    assert layers.order_layer(one).diff_id == layers.order_layer(order([("a", "1", False)])).diff_id
    assert layers.order_layer(one).diff_id != layers.order_layer(order([("a", "1", True)])).diff_id


def test_the_directories_layer_changes_with_the_build_user() -> None:
    assert (
        layers.default_dirs_layer(uid=1000, gid=1000).diff_id
        != layers.default_dirs_layer(uid=1001, gid=1000).diff_id
    )
