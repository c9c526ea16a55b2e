"""``kiln run admission`` refuses to start without its certificate, naming the settings to set."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest
from pydantic import SecretStr

from services.admission import service
from services.admission import settings as admission_settings
from services.broker import settings as broker_settings
from services.kube import settings as kube_settings
from services.runtime import running


def test_without_cert_and_key_the_webhook_does_not_start() -> None:
    with pytest.raises(ValueError, match="set KILN_ADMISSION_CERT_FILE and KILN_ADMISSION_KEY_FILE"):
        service.ssl_context(admission_settings.AdmissionSettings())


def test_insecure_serves_plain_http() -> None:
    assert service.ssl_context(admission_settings.AdmissionSettings(insecure=True)) is None


def test_a_cert_that_does_not_load_is_named(tmp_path: pathlib.Path) -> None:
    (tmp_path / "tls.crt").write_text("not a certificate")
    settings = admission_settings.AdmissionSettings(
        cert_file=tmp_path / "tls.crt", key_file=tmp_path / "tls.key"
    )
    with pytest.raises(ValueError, match="KILN_ADMISSION_CERT_FILE / KILN_ADMISSION_KEY_FILE: cannot load"):
        service.ssl_context(settings)


def test_the_settings_come_from_kiln_admission_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KILN_ADMISSION_CERT_FILE", "/tls/tls.crt")
    monkeypatch.setenv("KILN_ADMISSION_PORT", "9443")
    settings = admission_settings.AdmissionSettings()
    assert settings.cert_file == pathlib.Path("/tls/tls.crt")
    assert settings.port == 9443


async def test_running_admission_checks_tls_before_connecting_anywhere() -> None:
    unreachable = broker_settings.BrokerSettings(url=SecretStr("amqp://guest:guest@127.0.0.1:1/"))
    with pytest.raises(ValueError, match="KILN_ADMISSION_CERT_FILE"):
        async with running.running(
            ["admission"],
            settings=running.RunSettings(),
            broker=unreachable,
            kube=kube_settings.KubeSettings(),
            admission=admission_settings.AdmissionSettings(),
        ):
            pass


def test_all_starts_every_service_but_the_admission_webhook() -> None:
    assert "admission" in running.SERVICE_NAMES
    assert set(running.ALL) == set(running.SERVICE_NAMES) - {"admission"}


def test_kiln_run_admission_without_a_certificate_exits_naming_the_settings() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KILN_ADMISSION_")}
    env["KILN_ADMIN_PORT"] = ""
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "run", "admission"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "set KILN_ADMISSION_CERT_FILE and KILN_ADMISSION_KEY_FILE" in done.stderr
    assert "Traceback" not in done.stderr
