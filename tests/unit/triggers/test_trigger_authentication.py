"""Who may trigger builds: GitHub's HMAC signature, GitLab's token, bearer tokens; each refusal
says what is wrong and where the secret is configured."""

from __future__ import annotations

import pytest
import trigger_payloads as tp

from services.triggers import webhooks

GITHUB_DOCS_BODY = b"Hello, World!"
GITHUB_DOCS_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
"""The test vector of GitHub's "Validating webhook deliveries" documentation."""

MISSING_SIGNATURE = (
    "X-Hub-Signature-256: missing; give the GitHub webhook a secret, the value of KILN_TRIGGERS_GITHUB_SECRET"
)
WRONG_SIGNATURE = (
    "X-Hub-Signature-256: does not match the body; "
    "the GitHub webhook's secret differs from KILN_TRIGGERS_GITHUB_SECRET"
)
MALFORMED_SIGNATURE = "X-Hub-Signature-256: not of the form sha256=<64 hex digits>"


@pytest.mark.parametrize(
    ("body", "signature", "refusal"),
    [
        pytest.param(
            GITHUB_DOCS_BODY,
            GITHUB_DOCS_SIGNATURE,
            None,
            id="the signature of GitHub's documentation is accepted",
        ),
        pytest.param(
            GITHUB_DOCS_BODY,
            GITHUB_DOCS_SIGNATURE.upper().replace("SHA256=", "sha256="),
            None,
            id="upper-case hex digits are accepted",
        ),
        pytest.param(GITHUB_DOCS_BODY, None, MISSING_SIGNATURE, id="a missing signature is refused"),
        pytest.param(GITHUB_DOCS_BODY, "", MISSING_SIGNATURE, id="an empty signature is refused"),
        pytest.param(
            b"Hello, World?",
            GITHUB_DOCS_SIGNATURE,
            WRONG_SIGNATURE,
            id="a body changed in transit is refused",
        ),
        pytest.param(
            GITHUB_DOCS_BODY,
            tp.sign(GITHUB_DOCS_BODY, "another secret"),
            WRONG_SIGNATURE,
            id="a body signed with another secret is refused",
        ),
        pytest.param(
            GITHUB_DOCS_BODY,
            "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59",
            MALFORMED_SIGNATURE,
            id="the legacy SHA-1 signature is refused",
        ),
        pytest.param(
            GITHUB_DOCS_BODY,
            GITHUB_DOCS_SIGNATURE[:-1],
            MALFORMED_SIGNATURE,
            id="a truncated signature is refused",
        ),
    ],
)
def test_github_signatures(body: bytes, signature: str | None, refusal: str | None) -> None:
    if refusal is None:
        webhooks.verify_signature(body, secret=tp.GITHUB_SECRET, signature=signature)
        return
    with pytest.raises(webhooks.UnauthorizedError) as raised:
        webhooks.verify_signature(body, secret=tp.GITHUB_SECRET, signature=signature)

    assert str(raised.value) == refusal
    assert raised.value.status == 401


ENV = "KILN_TRIGGERS_GENERIC_TOKEN"


@pytest.mark.parametrize(
    ("authorization", "refusal"),
    [
        pytest.param(f"Bearer {tp.TOKEN}", None, id="the configured bearer token is accepted"),
        pytest.param(
            f"bearer  {tp.TOKEN} ", None, id="the scheme is case-insensitive and spaces are trimmed"
        ),
        pytest.param(
            None,
            f"Authorization: missing; send Authorization: Bearer <the value of {ENV}>",
            id="a missing Authorization header is refused",
        ),
        pytest.param(
            "Basic dXNlcjpzM2NyM3QtdG9rZW4=",
            f"Authorization: not a bearer token; send Authorization: Bearer <the value of {ENV}>",
            id="basic credentials are refused",
        ),
        pytest.param(
            "Bearer ",
            f"Authorization: not a bearer token; send Authorization: Bearer <the value of {ENV}>",
            id="a bearer scheme without a token is refused",
        ),
        pytest.param(
            "Bearer s3cr3t-tokeN",
            f"Authorization: the bearer token does not match {ENV}",
            id="a token differing in one character is refused",
        ),
        pytest.param(
            f"Bearer {tp.TOKEN}x",
            f"Authorization: the bearer token does not match {ENV}",
            id="a longer token is refused",
        ),
    ],
)
def test_bearer_tokens(authorization: str | None, refusal: str | None) -> None:
    if refusal is None:
        webhooks.verify_bearer(authorization, token=tp.TOKEN, env_var=ENV)
        return
    with pytest.raises(webhooks.UnauthorizedError) as raised:
        webhooks.verify_bearer(authorization, token=tp.TOKEN, env_var=ENV)

    assert str(raised.value) == refusal


@pytest.mark.parametrize(
    ("sent", "refusal"),
    [
        pytest.param(
            None,
            "X-Gitlab-Token: missing; give the GitLab webhook a secret token, "
            "the value of KILN_TRIGGERS_GITLAB_TOKEN",
            id="a GitLab delivery without a token is refused",
        ),
        pytest.param(
            "guess",
            "X-Gitlab-Token: does not match KILN_TRIGGERS_GITLAB_TOKEN",
            id="a GitLab delivery with another token is refused",
        ),
    ],
)
def test_gitlab_tokens(sent: str | None, refusal: str) -> None:
    with pytest.raises(webhooks.UnauthorizedError) as raised:
        webhooks.gitlab(tp.encode(tp.gitlab_push()), token=tp.TOKEN, event="Push Hook", sent_token=sent)

    assert str(raised.value) == refusal


def test_a_bad_signature_is_refused_before_the_body_is_read() -> None:
    with pytest.raises(webhooks.UnauthorizedError) as raised:
        webhooks.github(b"{not json", secret=tp.GITHUB_SECRET, event="push", signature=tp.sign(b"other"))

    assert str(raised.value) == WRONG_SIGNATURE


def test_a_bad_registry_token_is_refused_before_the_body_is_read() -> None:
    with pytest.raises(webhooks.UnauthorizedError) as raised:
        webhooks.registry(
            b"{not json", token=tp.TOKEN, authorization="Bearer nope", content_type=tp.REGISTRY_MEDIA_TYPE
        )

    assert str(raised.value) == "Authorization: the bearer token does not match KILN_TRIGGERS_REGISTRY_TOKEN"
