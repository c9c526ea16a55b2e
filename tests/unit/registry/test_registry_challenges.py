"""``WWW-Authenticate`` challenge parsing, as a truth table."""

from __future__ import annotations

import pytest

from services.registry import auth


@pytest.mark.parametrize(
    ("header", "scheme", "params"),
    [
        pytest.param(
            'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
            'scope="repository:library/ubuntu:pull"',
            "bearer",
            {
                "realm": "https://auth.docker.io/token",
                "service": "registry.docker.io",
                "scope": "repository:library/ubuntu:pull",
            },
            id="a docker hub bearer challenge gives realm, service and scope",
        ),
        pytest.param(
            'Bearer realm="http://127.0.0.1:1/token",service="kiln",scope="repository:a/b:pull,push"',
            "bearer",
            {"realm": "http://127.0.0.1:1/token", "service": "kiln", "scope": "repository:a/b:pull,push"},
            id="a comma inside a quoted scope stays in the scope",
        ),
        pytest.param(
            'Bearer realm="r", error="insufficient_scope"',
            "bearer",
            {"realm": "r", "error": "insufficient_scope"},
            id="spaces after commas are allowed",
        ),
        pytest.param('Basic realm="kiln"', "basic", {"realm": "kiln"}, id="a basic challenge"),
        pytest.param(
            "BASIC Realm=kiln", "basic", {"realm": "kiln"}, id="scheme and names are case-insensitive"
        ),
        pytest.param(
            'Bearer realm="a \\"quoted\\" realm"', "bearer", {"realm": 'a "quoted" realm'}, id="escapes"
        ),
        pytest.param("Negotiate", "negotiate", {}, id="a scheme without parameters"),
    ],
)
def test_challenge_parsing(header: str, scheme: str, params: dict[str, str]) -> None:
    challenge = auth.parse_challenge(header)

    assert challenge.scheme == scheme
    assert dict(challenge.params) == params


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("", id="an empty header"),
        pytest.param('realm="x"', id="a header without a scheme"),
        pytest.param('Bearer realm="unterminated', id="an unterminated quote"),
    ],
)
def test_unusable_challenges_are_auth_errors(header: str) -> None:
    with pytest.raises(auth.AuthError, match="WWW-Authenticate"):
        auth.parse_challenge(header)


def test_challenge_exposes_realm_service_and_scope() -> None:
    challenge = auth.parse_challenge('Bearer realm="r",service="s",scope="repository:x:pull"')

    assert (challenge.realm, challenge.service, challenge.scope) == ("r", "s", "repository:x:pull")
    assert auth.repository_scope("x") == "repository:x:pull"
    assert auth.repository_scope("x", push=True) == "repository:x:pull,push"
