"""``TriggersSettings``: defaults, ``KILN_TRIGGERS_*`` variables, and a provider off until its secret is set."""

from __future__ import annotations

import pydantic
import pytest

from services.triggers import settings


def test_defaults_listen_on_8080_with_every_provider_off(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GITHUB_SECRET", "GITLAB_TOKEN", "GENERIC_TOKEN", "REGISTRY_TOKEN", "HOST", "PORT"):
        monkeypatch.delenv(f"KILN_TRIGGERS_{name}", raising=False)

    defaults = settings.TriggersSettings()

    assert (defaults.host, defaults.port, defaults.max_body_bytes) == ("0.0.0.0", 8080, 1024 * 1024)
    assert [
        defaults.credential(name)
        for name in ("github_secret", "gitlab_token", "generic_token", "registry_token")
    ] == [None, None, None, None]


def test_the_environment_sets_secrets_that_stay_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KILN_TRIGGERS_GITHUB_SECRET", "hush")
    monkeypatch.setenv("KILN_TRIGGERS_PORT", "9000")
    monkeypatch.setenv("KILN_TRIGGERS_MAX_BODY_BYTES", "2048")

    read = settings.TriggersSettings()

    assert (read.port, read.max_body_bytes, read.credential("github_secret")) == (9000, 2048, "hush")
    assert "hush" not in repr(read)


def test_an_empty_secret_leaves_the_provider_off() -> None:
    assert settings.TriggersSettings(gitlab_token=pydantic.SecretStr("")).credential("gitlab_token") is None


@pytest.mark.parametrize(
    ("name", "variable"),
    [
        pytest.param("github_secret", "KILN_TRIGGERS_GITHUB_SECRET", id="github's secret variable"),
        pytest.param("gitlab_token", "KILN_TRIGGERS_GITLAB_TOKEN", id="gitlab's token variable"),
        pytest.param("generic_token", "KILN_TRIGGERS_GENERIC_TOKEN", id="the generic token variable"),
        pytest.param("registry_token", "KILN_TRIGGERS_REGISTRY_TOKEN", id="the registry token variable"),
    ],
)
def test_each_credential_names_its_environment_variable(name: settings.Credential, variable: str) -> None:
    assert settings.TriggersSettings.env_var(name) == variable


def test_settings_are_frozen() -> None:
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        settings.TriggersSettings().port = 1  # type: ignore[misc]
