"""The registry adapter's public surface is pinned: changing it is a deliberate act."""

from __future__ import annotations

from services import registry


def test_public_exports() -> None:
    assert sorted(registry.__all__) == [
        "AuthError",
        "BuilderBuildpack",
        "Credentials",
        "ImageConfig",
        "ImageConfigError",
        "InvalidSecretError",
        "Keychain",
        "RegistryClient",
    ]
    for name in registry.__all__:
        assert getattr(registry, name).__module__.startswith("services.registry.")
