"""The three layers kpack writes into every builder image itself (``pkg/cnb/builder_builder.go``).

* the default directories: ``/workspace`` and ``/layers`` owned by the stack's build user
  (ClusterStack ``status.userId`` / ``groupId``), ``/cnb``, ``/cnb/buildpacks``, ``/platform`` and
  ``/platform/env`` owned by root, all ``0755``;
* ``/cnb/stack.toml``: the relocated run image, as BurntSushi's TOML encoder writes it::

      [run-image]
        image = "registry.io/b:builder-ns-name-run-image@sha256:…"

* ``/cnb/order.toml``: the resolved order, one ``[[order]]`` table per group and one
  ``[[order.group]]`` table per buildpack (``version`` always, ``optional = true`` only when set);
  an empty order is ``order = []``.

Each is a single-entry (or six-entry) tar of regular ``0644`` / directory ``0755`` entries with
kpack's fixed mtime (:mod:`services.builder.tars`), so equal inputs give equal diffIDs.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

from contracts import buildpacks
from services.builder import tars

WORKSPACE_DIR = "/workspace"
LAYERS_DIR = "/layers"
CNB_DIR = "/cnb"
BUILDPACKS_DIR = "/cnb/buildpacks"
PLATFORM_DIR = "/platform"
PLATFORM_ENV_DIR = "/platform/env"
STACK_TOML_PATH = "/cnb/stack.toml"
ORDER_TOML_PATH = "/cnb/order.toml"

_TOML_ESCAPES = {
    ord('"'): '\\"',
    ord("\\"): "\\\\",
    ord("\b"): "\\b",
    ord("\t"): "\\t",
    ord("\n"): "\\n",
    ord("\f"): "\\f",
    ord("\r"): "\\r",
    **{code: f"\\u{code:04x}" for code in [*range(0x20), 0x7F] if chr(code) not in "\b\t\n\f\r"},
}
"""BurntSushi ``dblQuotedReplacer``: quotes, backslashes and control characters."""


def default_dirs_layer(*, uid: int, gid: int) -> tars.GzipLayer:
    """The directories a build needs, ``/workspace`` and ``/layers`` owned by ``uid``:``gid``."""
    return tars.gzip_layer(
        tars.tar_bytes(
            [
                tars.directory(WORKSPACE_DIR, uid=uid, gid=gid),
                tars.directory(LAYERS_DIR, uid=uid, gid=gid),
                tars.directory(CNB_DIR),
                tars.directory(BUILDPACKS_DIR),
                tars.directory(PLATFORM_DIR),
                tars.directory(PLATFORM_ENV_DIR),
            ]
        )
    )


def stack_layer(run_image: str) -> tars.GzipLayer:
    """``/cnb/stack.toml`` naming ``run_image``."""
    return tars.gzip_layer(
        tars.tar_bytes([tars.regular_file(STACK_TOML_PATH, stack_toml(run_image).encode())])
    )


def order_layer(order: Sequence[buildpacks.OrderEntry]) -> tars.GzipLayer:
    """``/cnb/order.toml`` of ``order``."""
    return tars.gzip_layer(tars.tar_bytes([tars.regular_file(ORDER_TOML_PATH, order_toml(order).encode())]))


def stack_toml(run_image: str) -> str:
    return f"[run-image]\n  image = {_toml_string(run_image)}\n"


def order_toml(order: Sequence[buildpacks.OrderEntry]) -> str:
    """The order as BurntSushi encodes kpack's ``tomlOrderFile``: an empty list (or an empty
    group) is an inline ``[]``, anything else an array of tables, each table after the first
    preceded by an empty line."""
    if not order:
        return "order = []\n"
    lines: list[str] = []
    for entry in order:
        lines += ([""] if lines else []) + ["[[order]]"]
        if not entry.group:
            lines.append("  group = []")
        for ref in entry.group:
            lines += ["", "  [[order.group]]", f"    id = {_toml_string(ref.id)}"]
            lines.append(f"    version = {_toml_string(ref.version)}")
            if ref.optional:
                lines.append("    optional = true")
    return "\n".join(lines) + "\n"


def _toml_string(value: str) -> str:
    return '"' + value.translate(_TOML_ESCAPES) + '"'
