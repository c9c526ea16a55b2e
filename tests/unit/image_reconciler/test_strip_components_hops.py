"""A blob's ``stripComponents`` at each hop, Image → SourceResolver spec → its resolved status →
the Build's source → the prepare step's ``BLOB_STRIP_COMPONENTS`` (kpack's ``build_pod.go`` env).

kpack's blob resolver drops it (``pkg/blob/resolver.go`` ``Resolve`` copies only url, auth and
subPath), so a kpack Image's ``stripComponents`` never reaches its Builds; Kiln
carries it through (a deliberate difference, listed in the README).
"""

from __future__ import annotations

from typing import Any

import pytest

from services.build_runner import steps
from services.image_reconciler import resolvers, resolving
from tests.unit.image_reconciler import image_fixtures as fx

URL = "https://blobs.example.com/app.tgz"


@pytest.mark.parametrize(
    ("blob", "build_blob", "env"),
    [
        ({"url": URL, "stripComponents": 2}, {"url": URL, "stripComponents": 2}, "2"),
        ({"url": URL, "stripComponents": 0}, {"url": URL, "stripComponents": 0}, "0"),
        ({"url": URL}, {"url": URL}, "0"),
        (
            {"url": URL, "auth": "secret", "stripComponents": 1},
            {"url": URL, "auth": "secret", "stripComponents": 1},
            "1",
        ),
    ],
)
def test_strip_components_reaches_every_hop(
    blob: dict[str, Any], build_blob: dict[str, Any], env: str
) -> None:
    image = fx.image({"source": {"blob": blob}})

    resolver = resolvers.desired_source_resolver(image)
    status = resolving.resolved(resolver, now=fx.NOW_TEXT)
    build_source = status.source.source_config()
    prepare_env = {e["name"]: e["value"] for e in steps.source_env(build_source)}

    assert resolver.spec.source.dump() == {"blob": blob}
    assert status.source.dump() == {"blob": blob}  # Go's omitempty: no null auth or subPath
    assert build_source.dump() == {"blob": build_blob}
    assert prepare_env["BLOB_STRIP_COMPONENTS"] == env


def test_a_resolved_git_or_registry_source_omits_what_is_not_given() -> None:
    git = resolving.resolved(resolvers.desired_source_resolver(fx.image()), now=fx.NOW_TEXT)
    registry = resolving.resolved(
        resolvers.desired_source_resolver(fx.image({"source": {"registry": {"image": "registry.io/src"}}})),
        now=fx.NOW_TEXT,
    )
    assert git.source.dump() == {"git": {"url": fx.REPO_URL, "revision": "main", "type": "Branch"}}
    assert registry.source.dump() == {"registry": {"image": "registry.io/src"}}
