"""Which proxy the Kubernetes client sends through, chosen once from the environment."""

from __future__ import annotations

import pytest

from services.kube import client

PROXY = "http://proxy.example:3128"


@pytest.mark.parametrize(
    ("server", "environment", "expected"),
    [
        pytest.param("https://api.example:6443", {}, None, id="no proxy variables, no proxy"),
        pytest.param("https://api.example:6443", {"HTTPS_PROXY": PROXY}, PROXY, id="HTTPS_PROXY for https"),
        pytest.param("https://api.example:6443", {"https_proxy": PROXY}, PROXY, id="lower case too"),
        pytest.param(
            "https://api.example:6443",
            {"HTTPS_PROXY": "http://upper:1", "https_proxy": PROXY},
            PROXY,
            id="lower case wins over upper case",
        ),
        pytest.param("http://127.0.0.1:8001", {"HTTPS_PROXY": PROXY}, None, id="HTTPS_PROXY not for http"),
        pytest.param("http://127.0.0.1:8001", {"HTTP_PROXY": PROXY}, PROXY, id="HTTP_PROXY for http"),
        pytest.param("https://api.example", {"HTTPS_PROXY": ""}, None, id="an empty variable is none"),
        pytest.param(
            "https://api.example", {"HTTPS_PROXY": PROXY, "NO_PROXY": "*"}, None, id="NO_PROXY * exempts all"
        ),
        pytest.param(
            "https://api.example",
            {"HTTPS_PROXY": PROXY, "no_proxy": "other.example, api.example"},
            None,
            id="NO_PROXY naming the host exempts it",
        ),
        pytest.param(
            "https://kube.api.example",
            {"HTTPS_PROXY": PROXY, "NO_PROXY": ".api.example"},
            None,
            id="a domain with a dot exempts its hosts",
        ),
        pytest.param(
            "https://kube.api.example",
            {"HTTPS_PROXY": PROXY, "NO_PROXY": "api.example"},
            None,
            id="a domain without a dot exempts its hosts",
        ),
        pytest.param(
            "https://notapi.example",
            {"HTTPS_PROXY": PROXY, "NO_PROXY": "api.example"},
            PROXY,
            id="a name that only ends the same is not exempt",
        ),
        pytest.param(
            "https://api.example:6443",
            {"HTTPS_PROXY": PROXY, "NO_PROXY": "api.example:6443"},
            None,
            id="host and port exempt that port",
        ),
        pytest.param(
            "https://api.example:6443",
            {"HTTPS_PROXY": PROXY, "NO_PROXY": "api.example:443"},
            PROXY,
            id="host and another port do not",
        ),
        pytest.param(
            "https://API.Example",
            {"HTTPS_PROXY": PROXY, "NO_PROXY": "api.example"},
            None,
            id="names ignore case",
        ),
    ],
)
def test_the_environment_names_the_proxy_unless_no_proxy_exempts_the_server(
    server: str, environment: dict[str, str], expected: str | None
) -> None:
    assert client.environment_proxy(server, environment) == expected
