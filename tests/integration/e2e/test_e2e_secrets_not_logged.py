"""Credentials never reach the logs: a run plants secrets everywhere Kiln reads some — registry
passwords in a ``kubernetes.io/dockerconfigjson`` Secret, git basic-auth and ssh-auth Secrets with
the ``kpack.io/git`` annotation, the webhooks' HMAC secret and bearer tokens (and wrong ones sent
by a caller), a broker URL's password — builds end to end with every logger at DEBUG (Kiln's,
aio-pika's, aiormq's, aiohttp's, httpx's, kubernetes-asyncio's), then scans every record: message,
arguments, exception and stack text. No planted value may appear, nor its base64 (as Secrets and
docker configs carry it).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterable
from typing import Any

import aio_pika
import httpx
import pytest
from pydantic import SecretStr

from services.broker import connecting
from services.broker import settings as broker_settings
from services.kube import settings as kube_settings
from services.runtime import running
from services.testbed.git import serving
from services.testbed.sandbox import examples, harness
from services.triggers import settings as triggers_settings
from services.triggers import webhooks

pytestmark = pytest.mark.integration

REGISTRY = "127.0.0.1:5000"
WAIT_SECONDS = 45.0
GIT_USER = "kiln-bot"
PLANTED = {
    "registry password": "reg-pw-7f3a9c1e5b",
    "git password": "git-pw-2d8e6f0a4c",
    "ssh private key": "ssh-key-9b1c3e5d7f",
    "github secret": "gh-hmac-4e6a8c0b2d",
    "generic token": "generic-tok-1a3c5e7b9d",
    "registry token": "registry-tok-8f0d2b4a6c",
    "wrong bearer token": "wrong-tok-5c7e9a1b3d",
    "broker password": "amqp-pw-6d8f0b2c4e",
}
LOGGERS = ("services", "aio_pika", "aiormq", "aiohttp", "httpx", "httpcore", "kubernetes_asyncio", "asyncio")


def forms(value: str) -> set[str]:
    """A planted value and the encodings it travels in."""
    encoded = {base64.b64encode(value.encode()).decode()}
    encoded |= {base64.b64encode(f"{user}:{value}".encode()).decode() for user in ("robot", GIT_USER)}
    return {value, *encoded}


def record_texts(record: logging.LogRecord) -> Iterable[str]:
    """Everything a handler could write of ``record``."""
    formatter = logging.Formatter()
    yield record.getMessage()
    yield repr(record.args)
    yield repr(record.msg)
    if record.exc_info:
        yield formatter.formatException(record.exc_info)
    if record.exc_text:
        yield record.exc_text
    if record.stack_info:
        yield record.stack_info
    yield repr(
        {
            k: v
            for k, v in vars(record).items()
            if k not in logging.LogRecord("", 0, "", 0, "", (), None).__dict__
        }
    )


def leaks(records: Iterable[logging.LogRecord]) -> list[str]:
    """One line per record and planted value found in it."""
    found = []
    for record in records:
        texts = list(record_texts(record))
        for what, value in PLANTED.items():
            leaked = next((t for t in texts if any(form in t for form in forms(value))), None)
            if leaked is not None:
                found.append(f"{what} in a {record.levelname} record of {record.name}: {leaked[:300]}")
    return found


def test_the_scan_finds_a_planted_value_in_a_message_its_arguments_and_an_exception() -> None:
    def record(msg: str, *args: object, error: BaseException | None = None) -> logging.LogRecord:
        exc_info = (type(error), error, None) if error else None
        return logging.LogRecord("services.x", logging.DEBUG, __file__, 1, msg, args, exc_info)

    password = PLANTED["git password"]
    auth = base64.b64encode(f"{GIT_USER}:{password}".encode()).decode()

    assert len(leaks([record("url %s", f"https://u:{password}@h")])) == 1
    assert len(leaks([record("header %r", {"Authorization": f"Basic {auth}"})])) == 1
    assert len(leaks([record("failed", error=RuntimeError(password))])) == 1
    assert leaks([record("nothing to see: %s", "kiln")]) == []


@pytest.fixture
def captured(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def seed_credentials(sb: harness.Sandbox, namespace: str, *, git_host: str) -> None:
    """The Images' service account ``builder``: registry, git basic-auth and ssh-auth Secrets."""
    password = PLANTED["registry password"]
    auth = base64.b64encode(f"robot:{password}".encode()).decode()
    docker_config = {"auths": {REGISTRY: {"username": "robot", "password": password, "auth": auth}}}
    secrets = [
        examples.secret(
            namespace,
            "registry",
            "kubernetes.io/dockerconfigjson",
            {".dockerconfigjson": json.dumps(docker_config)},
        ),
        examples.secret(
            namespace,
            "git-basic",
            "kubernetes.io/basic-auth",
            {"username": GIT_USER, "password": PLANTED["git password"]},
            **{"kpack.io/git": git_host},
        ),
        examples.secret(
            namespace,
            "git-ssh",
            "kubernetes.io/ssh-auth",
            {"ssh-privatekey": f"-----BEGIN OPENSSH PRIVATE KEY-----\n{PLANTED['ssh private key']}\n"},
            **{"kpack.io/git": "git@git.example.com"},
        ),
    ]
    for secret in secrets:
        sb.emulator.create(secret)
    sb.emulator.create(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "builder", "namespace": namespace},
            "secrets": [{"name": s["metadata"]["name"]} for s in secrets],
            "imagePullSecrets": [{"name": "registry"}],
        }
    )


@contextlib.asynccontextmanager
async def planted_triggers(sb: harness.Sandbox) -> AsyncIterator[str]:
    """The triggers service with the planted webhook secrets; its webhook URL."""
    hooks = triggers_settings.TriggersSettings(
        host="127.0.0.1",
        port=0,
        github_secret=SecretStr(PLANTED["github secret"]),
        generic_token=SecretStr(PLANTED["generic token"]),
        registry_token=SecretStr(PLANTED["registry token"]),
    )
    settings = running.RunSettings(admin_port=None)
    broker = broker_settings.BrokerSettings().model_copy(update={"prefix": sb.prefix})
    kube = kube_settings.KubeSettings(kubeconfig=sb.kubeconfig, in_cluster=False)
    async with running.running(
        ["triggers"], settings=settings, broker=broker, kube=kube, triggers=hooks
    ) as wiring:
        assert wiring.webhooks_url is not None
        yield wiring.webhooks_url


async def push(url: str, *, git_url: str, before: str, after: str) -> None:
    """A signed GitHub push, then the webhooks refused and accepted with the planted tokens."""
    body = json.dumps(
        {
            "ref": "refs/heads/main",
            "before": before,
            "after": after,
            "repository": {"clone_url": git_url, "html_url": git_url.removesuffix(".git")},
            "head_commit": {"id": after},
        }
    ).encode()
    signature = webhooks.github_digest(body, secret=PLANTED["github secret"])
    github = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": str(uuid.uuid4()),
    }
    generic = json.dumps({"url": git_url, "revision": after}).encode()
    async with httpx.AsyncClient(timeout=30.0) as http:
        sent = await http.post(
            f"{url}/webhooks/github",
            content=body,
            headers={**github, "X-Hub-Signature-256": f"sha256={signature}"},
        )
        assert sent.status_code == 202, sent.text
        wrong = await http.post(
            f"{url}/webhooks/generic",
            content=generic,
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {PLANTED['wrong bearer token']}",
            },
        )
        assert wrong.status_code == 401, wrong.text
        right = await http.post(
            f"{url}/webhooks/generic",
            content=generic,
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {PLANTED['generic token']}",
            },
        )
        assert right.status_code == 202, right.text
        registry = await http.post(
            f"{url}/webhooks/registry",
            content=json.dumps({"events": []}),
            headers={
                "Content-Type": webhooks.REGISTRY_MEDIA_TYPE,
                "Authorization": f"Bearer {PLANTED['wrong bearer token']}",
            },
        )
        assert registry.status_code == 401, registry.text


def _image(name: str, namespace: str, git_url: str) -> dict[str, Any]:
    image = examples.image(
        "registry-cache", name=name, namespace=namespace, registry=REGISTRY, builder="default"
    )
    image["spec"]["serviceAccountName"] = "builder"
    image["spec"]["source"] = {"git": {"url": git_url, "revision": "main"}}
    return image


async def test_a_run_with_credentials_everywhere_logs_none_of_them(
    captured: pytest.LogCaptureFixture,
) -> None:
    services = tuple(name for name in running.ALL if name != "triggers")
    async with (
        serving.running_git_server(users={GIT_USER: PLANTED["git password"]}) as git,
        harness.sandbox(registry_host=REGISTRY, step_seconds=0.02, services=services, git_listing=True) as sb,
        planted_triggers(sb) as hooks_url,
    ):
        namespace = f"secrets-{uuid.uuid4().hex[:8]}"
        seed_credentials(sb, namespace, git_host=git.base_url)
        await sb.add_builder()
        repository = await git.create_repository(f"team/app-{uuid.uuid4().hex[:6]}")
        first = await repository.commit({"main.go": "package main\n"})
        git_url = git.url(repository.name)
        await sb.apply(_image("app", namespace, git_url))
        await sb.apply(_image("missing", namespace, git.url("team/does-not-exist")))  # git refuses it
        await sb.wait_for(
            lambda: any(not b.running() for b in sb.builds(namespace)), seconds=WAIT_SECONDS, what="build 1"
        )
        second = await repository.commit({"main.go": "package main // 2\n"})
        await push(hooks_url, git_url=git_url, before=first, after=second)
        await sb.wait_for(
            lambda: any(b.build_number() == 2 and not b.running() for b in sb.builds(namespace)),
            seconds=WAIT_SECONDS,
            what="the pushed commit built",
        )
        assert any(r.status == 401 for r in git.requests), "git was asked without credentials first"

    assert any(r.name.startswith("services.") for r in captured.records)
    assert not leaks(captured.records), "\n".join(leaks(captured.records))


async def test_a_broker_url_password_is_not_logged_when_the_broker_cannot_be_reached(
    captured: pytest.LogCaptureFixture,
) -> None:
    url = f"amqp://kiln:{PLANTED['broker password']}@127.0.0.1:1/"
    settings = broker_settings.BrokerSettings(url=SecretStr(url), prefix=f"secrets-{uuid.uuid4().hex[:8]}")

    with pytest.raises(Exception) as refused:  # noqa: PT011 - whatever aio-pika raises for a refused connection
        await connecting.connect(settings, service="secrets-test")

    assert PLANTED["broker password"] not in str(refused.value)
    assert PLANTED["broker password"] not in repr(settings)
    assert not leaks(captured.records), "\n".join(leaks(captured.records))


async def test_a_refused_connect_leaves_no_connection_behind() -> None:
    """The failed connect closes what it opened: left open, the connection would keep retrying
    in the background and, once collected, try to schedule its own close with no loop running
    (an unraisable 'never awaited' warning in whichever test comes next)."""
    settings = broker_settings.BrokerSettings(
        url=SecretStr("amqp://kiln:kiln@127.0.0.1:1/"), prefix="refused"
    )

    with pytest.raises(ConnectionError):
        await connecting.connect(settings, service="refused-test")
    await asyncio.sleep(0.1)
    gc.collect()

    left = [o for o in gc.get_objects() if isinstance(o, aio_pika.RobustConnection) and o.url.port == 1]
    assert all(connection.is_closed for connection in left)
