"""``kiln run admission`` served over HTTPS (a self-signed certificate made here) on the Kubernetes emulator.

Per test, the server is started as ``kiln run admission`` starts it (:func:`services.runtime.running.running`
over the real broker, under a unique prefix deleted afterwards), with StorageClasses listed again
on every request so that a test sees the default class it just created.
"""

from __future__ import annotations

import datetime
import ipaddress
import pathlib
import ssl
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.admission import settings as admission_settings
from services.broker import connecting, topology
from services.broker import settings as broker_settings
from services.kube import client, resources
from services.kube import settings as kube_settings
from services.runtime import running
from services.testbed.emulator import Emulator


def self_signed(directory: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
    """A certificate for 127.0.0.1 signed by its own key: (cert file, key file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kiln-admission.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "tls.crt", directory / "tls.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


@pytest.fixture(scope="module")
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator() as serving:
        yield serving


@pytest.fixture(scope="module")
def kube_config(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> kube_settings.KubeSettings:
    path = emulator.write_kubeconfig(tmp_path_factory.mktemp("kube") / "config")
    return kube_settings.KubeSettings(kubeconfig=pathlib.Path(path), in_cluster=False, request_timeout=2.0)


@pytest.fixture(scope="module")
async def kube(kube_config: kube_settings.KubeSettings) -> AsyncIterator[resources.Kube]:
    async with client.connected(kube_config) as api:
        yield resources.Kube(api, settings=kube_config)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[pathlib.Path, pathlib.Path]:
    return self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture
async def webhook_url(
    kube_config: kube_settings.KubeSettings, tls: tuple[pathlib.Path, pathlib.Path]
) -> AsyncIterator[str]:
    """``kiln run admission`` over https on a free port; its base URL."""
    broker = broker_settings.BrokerSettings(prefix=f"test-{uuid.uuid4().hex[:10]}")
    admission = admission_settings.AdmissionSettings(
        host="127.0.0.1", port=0, cert_file=tls[0], key_file=tls[1], storage_class_seconds=0
    )
    try:
        async with running.running(
            ["admission"],
            settings=running.RunSettings(admin_port=None),
            broker=broker,
            kube=kube_config,
            admission=admission,
        ) as wiring:
            assert wiring.admission_url is not None
            yield wiring.admission_url
    finally:
        connection = await connecting.connect(broker, service="kiln-admission-tests")
        channel = await connection.channel()
        await topology.delete(channel, settings=broker)
        await connection.close()


@pytest.fixture
async def https(webhook_url: str, tls: tuple[pathlib.Path, pathlib.Path]) -> AsyncIterator[httpx.AsyncClient]:
    """A client that trusts only the test certificate."""
    trusted = ssl.create_default_context(cafile=str(tls[0]))
    async with httpx.AsyncClient(base_url=webhook_url, verify=trusted, timeout=10.0) as session:
        yield session


@pytest.fixture
async def admitting(
    emulator: Emulator, webhook_url: str, tls: tuple[pathlib.Path, pathlib.Path]
) -> AsyncIterator[Emulator]:
    """The emulator sending kpack Image and Build writes through the webhook, as an API server does."""
    emulator.call_admission(webhook_url, ssl_context=ssl.create_default_context(cafile=str(tls[0])))
    yield emulator
    emulator.call_admission(None)
