"""``kiln run`` settings read from the environment as the deploy manifests and README set them."""

from __future__ import annotations

import pytest

from services.runtime import running


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", None), ("  ", None), ("0", 0), ("9090", 9090)],
    ids=["empty serves no admin endpoint", "blank serves none", "0 picks a free port", "a port"],
)
def test_the_admin_port_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: int | None
) -> None:
    monkeypatch.setenv("KILN_ADMIN_PORT", value)
    assert running.RunSettings().admin_port == expected


def test_an_admin_port_out_of_range_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KILN_ADMIN_PORT", "70000")
    with pytest.raises(ValueError, match="admin_port"):
        running.RunSettings()
