"""README command 1 as CI reads it (deploy/local/readme_command.py), the setup script it and
.ci/run share (deploy/local/up.sh), and the check of the command's output: a README edit that
moves or breaks command 1, or a .ci/run that stops calling the same setup, fails here."""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import subprocess
import sys
from types import ModuleType
from typing import Any

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[3]
LOCAL = REPO / "deploy" / "local"
README = (REPO / "README.md").read_text()
CI = (REPO / ".ci" / "run").read_text()


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("readme_command", LOCAL / "readme_command.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


readme_command = _load()


def _ci_commands() -> list[str]:
    return [line.strip() for line in CI.splitlines() if line.strip() and not line.strip().startswith("#")]


def test_command_1_is_the_setup_script_a_virtualenv_and_the_sandbox() -> None:
    command = readme_command.command(README)

    assert command == (
        "bash deploy/local/up.sh && python3 -m venv .venv && . .venv/bin/activate && pip install -q -e ."
        " && kiln sandbox --example registry-cache --until-builds 2 --output json"
    )


def test_the_extraction_script_prints_command_1_on_one_line() -> None:
    printed = subprocess.run(
        [sys.executable, str(LOCAL / "readme_command.py"), "extract", str(REPO / "README.md")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    assert printed == readme_command.command(README) + "\n"


def test_ci_calls_the_setup_script_command_1_calls_and_runs_command_1_from_the_readme() -> None:
    setup = "bash deploy/local/up.sh"
    ci = _ci_commands()

    assert readme_command.command(README).startswith(setup + " && ")
    assert f"{setup} --tests" in ci
    assert "bash deploy/local/run-readme-command.sh" in ci
    assert ci.index(f"{setup} --tests") < ci.index("bash deploy/local/run-readme-command.sh")


def test_command_2_is_ci_and_ci_runs_the_readmes_test_commands_verbatim() -> None:
    test_commands = readme_command.commands(readme_command.sh_blocks(readme_command.section(README))[1])

    assert readme_command.command(README, number=2) == "bash .ci/run"
    assert [line.split(" ")[:4] for line in test_commands] == [
        ["python3", "-m", "pytest", "-q"],
        ["python3", "-m", "pytest", "-q"],
    ]
    assert test_commands == [line for line in _ci_commands() if line.startswith("python3 -m pytest")]


def test_the_compose_sandbox_that_up_sh_offers_reaches_the_broker_and_registry_compose_runs() -> None:
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    services = compose["services"]
    sandbox = services["sandbox"]
    broker = services["rabbitmq"]["environment"]

    assert "docker compose run --rm sandbox" in (LOCAL / "up.sh").read_text()
    assert sandbox["command"][:2] == ["kiln", "sandbox"]
    # The sandbox's default registry, 127.0.0.1:5000, is the registry container's own port.
    assert sandbox["network_mode"] == "service:registry"
    assert sandbox["environment"]["KILN_BROKER_URL"] == (
        f"amqp://{broker['RABBITMQ_DEFAULT_USER']}:{broker['RABBITMQ_DEFAULT_PASS']}@rabbitmq:5672/"
    )
    assert sandbox["depends_on"]["registry"] == {"condition": "service_healthy"}
    assert "healthcheck" in services["registry"]


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ("echo one\necho two\n", ["echo one", "echo two"]),
        ("# a comment\n\necho one\n", ["echo one"]),
        ("a && b \\\n  && c\n", ["a && b && c"]),
        ("a \\\n  b \\\n  c\n# 2.\nd\n", ["a b c", "d"]),
        ("# only comments\n", []),
    ],
    ids=[
        "each line is a command",
        "comment and blank lines are skipped",
        "a continuation line is joined to the one before",
        "several continuations make one command before the next",
        "a block of comments has no command",
    ],
)
def test_commands_of_a_block(block: str, expected: list[str]) -> None:
    assert readme_command.commands(block) == expected


@pytest.mark.parametrize(
    ("readme", "message"),
    [
        ("# Kiln\n\n## Install\n\n```sh\npip install kiln\n```\n", "no '## Two commands on a fresh machine'"),
        ("## Two commands on a fresh machine\n\ntext\n\n## Next\n\n```sh\nx\n```\n", "has no ```sh block"),
        ("## Two commands on a fresh machine\n\n```sh\n# nothing\n```\n", "has 0 command(s), not 1"),
        ("## Two commands on a fresh machine\n\n```sh\na \\\n```\n", "ends in a line continuation"),
    ],
    ids=[
        "the section is gone",
        "a sh block of another section is not taken",
        "the block has no command",
        "the last line continues into nothing",
    ],
)
def test_a_readme_without_command_1_is_an_error_naming_what_is_missing(readme: str, message: str) -> None:
    with pytest.raises(readme_command.ReadmeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        readme_command.command(readme)


CACHE = "127.0.0.1:5000/sandbox/sample-cache"
DIGEST_1 = "sha256:" + "1" * 64
DIGEST_2 = "sha256:" + "2" * 64
WHERE = (
    "kubeconfig: /tmp/k/kubeconfig\nstatus page: http://127.0.0.1:1/  health and metrics: "
    "http://127.0.0.1:1/metrics  webhooks: http://127.0.0.1:2/webhooks/…\n"
)


def _build(number: int, **changes: Any) -> dict[str, Any]:
    pinned = f"-cache-image={CACHE}@{DIGEST_1}"
    build: dict[str, Any] = {
        "name": f"sample-build-{number}",
        "reason": "CONFIG" if number == 1 else "COMMIT",
        "succeeded": "True",
        "cacheArgs": {
            "analyze": [f"-cache-image={CACHE}" if number == 1 else pinned],
            "restore": [f"-cache-image={CACHE}" if number == 1 else pinned],
            "export": [f"-cache-image={CACHE}"],
        },
        "latestCacheImage": f"{CACHE}@{DIGEST_1 if number == 1 else DIGEST_2}",
    }
    return {**build, **changes}


def _stdout(*builds: dict[str, Any]) -> str:
    return "rabbitmq: already running\nregistry: already serving\n" + "".join(
        json.dumps(build) + "\n" for build in builds
    )


def test_two_builds_sharing_a_pinned_cache_pass_the_check() -> None:
    assert readme_command.problems(_stdout(_build(1), _build(2)), stderr=WHERE) == []


@pytest.mark.parametrize(
    ("stdout", "stderr", "problem"),
    [
        (_stdout(_build(1)), WHERE, "expected 2 finished builds as JSON lines on standard output, got 1"),
        (_stdout(_build(1), _build(2, reason="CONFIG")), WHERE, "build 2: reason is 'CONFIG'"),
        (_stdout(_build(1), _build(2, succeeded="False")), WHERE, "sample-build-2: succeeded is 'False'"),
        (_stdout(_build(1, latestCacheImage=CACHE), _build(2)), WHERE, "build 1: latestCacheImage"),
        (
            _stdout(_build(1), _build(2, cacheArgs={"analyze": [f"-cache-image={CACHE}"], "restore": []})),
            WHERE,
            "build 2: analyze reads",
        ),
        (_stdout(_build(1), _build(2, latestCacheImage=CACHE)), WHERE, "build 2: latestCacheImage"),
        (_stdout(_build(1), _build(2)), "", "no 'kubeconfig: '"),
    ],
    ids=[
        "one build only",
        "build 2 not from the pushed commit",
        "a failed build",
        "build 1's cache not pinned by digest",
        "build 2 not reading build 1's cache",
        "build 2's cache not pinned by digest",
        "no word of where the kubeconfig is",
    ],
)
def test_the_check_names_what_is_wrong(stdout: str, stderr: str, problem: str) -> None:
    assert any(problem in line for line in readme_command.problems(stdout, stderr=stderr))


def test_up_sh_without_the_packages_and_apt_says_what_to_install_in_one_line(tmp_path: pathlib.Path) -> None:
    # A PATH with nothing on it: no rabbitmq-server, docker-registry, curl, git, python3 or apt-get.
    done = subprocess.run(
        ["/bin/bash", str(LOCAL / "up.sh")],
        env={"PATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 1
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    if os.geteuid() == 0:
        assert line == (
            "up: missing, and no apt-get here to install: curl; git (the git binary);"
            " RabbitMQ (rabbitmq-server) with the rabbitmq_consistent_hash_exchange plugin enabled;"
            " the distribution registry (docker-registry); Python 3 with its venv module (python3-venv)."
            " Install with your package manager and run this again, or, with Docker, run the sandbox in"
            " containers: docker compose run --rm sandbox"
        )
    else:
        assert line.startswith(
            "up: missing curl git rabbitmq-server docker-registry python3-venv (Debian packages, which only root"
            " installs): run 'sudo bash deploy/local/up.sh' once"
        )
        assert line.endswith("docker compose run --rm sandbox")
