"""Build history cleanup (spec §4.7; checklist 59; §11: one failed and one success per reconcile)."""

from __future__ import annotations

import image_fixtures as fx
import pytest

from services.image_reconciler import history


def builds(*outcomes: str | None) -> list:  # type: ignore[type-arg]
    """Builds numbered 1.. oldest first, with these Succeeded statuses."""
    return [fx.build(n, succeeded=s) for n, s in enumerate(outcomes, start=1)]


@pytest.mark.parametrize(
    ("oldest_first", "failed_limit", "success_limit", "expected"),
    [
        pytest.param(builds("True", "False"), 1, 1, [], id="builds within the limits are kept"),
        pytest.param(
            builds("False", "True", "False", "False"),
            2,
            10,
            ["image-name-build-1"],
            id="one failed build over the limit deletes the oldest failed build",
        ),
        pytest.param(
            builds("True", "True", "False", "True"),
            10,
            2,
            ["image-name-build-1"],
            id="one successful build over the limit deletes the oldest successful build",
        ),
        pytest.param(
            builds("False", "True", "False", "True", "False", "True"),
            1,
            1,
            ["image-name-build-1", "image-name-build-2"],
            id="far over both limits deletes only one failed and one successful build per reconcile",
        ),
        pytest.param(
            builds("Unknown", None, "True", "False"),
            1,
            1,
            [],
            id="running builds and builds without a Succeeded condition are not counted",
        ),
    ],
)
def test_builds_to_delete(
    oldest_first: list, failed_limit: int, success_limit: int, expected: list[str]
) -> None:  # type: ignore[type-arg]
    assert (
        history.builds_to_delete(oldest_first, failed_limit=failed_limit, success_limit=success_limit)
        == expected
    )
