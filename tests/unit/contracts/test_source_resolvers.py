"""The SourceResolver's spec keys are kpack's (``pkg/apis/build/v1alpha2/source_resolver_types.go``:
``ServiceAccount string `json:"serviceAccount,omitempty"```)."""

from __future__ import annotations

from typing import Any

import pytest

from contracts import source_resolvers
from services.image_reconciler import resolvers
from tests.unit.image_reconciler import image_fixtures as fx

SOURCE = {"git": {"url": "https://github.com/some/repo", "revision": "main"}}


@pytest.mark.parametrize(
    ("spec", "service_account", "written"),
    [
        # written by kpack: read back, written back as kpack's key
        (
            {"serviceAccount": "robot", "source": SOURCE},
            "robot",
            {"serviceAccount": "robot", "source": SOURCE},
        ),
        # written by Kiln before it used kpack's key: read as kpack's key (the old one kept, so the
        # spec differs from the desired one and the reconcile rewrites it)
        (
            {"serviceAccountName": "old", "source": SOURCE},
            "old",
            {"serviceAccountName": "old", "serviceAccount": "old", "source": SOURCE},
        ),
        # both: kpack's key wins
        (
            {"serviceAccount": "robot", "serviceAccountName": "old", "source": SOURCE},
            "robot",
            {"serviceAccount": "robot", "serviceAccountName": "old", "source": SOURCE},
        ),
        # none (omitempty)
        ({"source": SOURCE}, None, {"source": SOURCE}),
    ],
)
def test_the_service_account_reads_back_under_kpacks_key(
    spec: dict[str, Any], service_account: str | None, written: dict[str, Any]
) -> None:
    resolver = source_resolvers.SourceResolver.model_validate(
        {"apiVersion": "kpack.io/v1alpha2", "kind": "SourceResolver", "metadata": {"name": "a"}, "spec": spec}
    )
    assert resolver.spec.service_account == service_account
    assert resolver.spec.dump() == written


def test_a_spec_built_in_python_keeps_its_service_account() -> None:
    spec = source_resolvers.SourceResolverSpec(service_account="robot")
    assert spec.dump() == {"serviceAccount": "robot"}
    assert source_resolvers.SourceResolverSpec.model_validate(spec).service_account == "robot"


def test_a_resolver_kiln_wrote_with_the_old_key_is_rewritten_with_kpacks_key() -> None:
    image = fx.image({"serviceAccountName": "robot"})
    legacy = fx.resolver(
        spec={"serviceAccountName": "robot", "source": {"git": {"url": fx.REPO_URL, "revision": "main"}}}
    )

    decided, _ = resolvers.plan_source_resolver(image, observed=legacy)

    assert decided.action == "update"
    assert decided.object is not None
    assert decided.object.spec.dump() == {
        "serviceAccount": "robot",
        "source": {"git": {"url": fx.REPO_URL, "revision": "main"}},
    }
    again, _ = resolvers.plan_source_resolver(image, observed=decided.object)
    assert again.action == "none"
