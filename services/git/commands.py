"""Running the ``git`` binary for one repository: a hermetic environment, credentials handed over
without a command line, a deadline, and failures translated (:mod:`services.git.failures`).

* **Hermetic.** git runs with a whitelisted environment (``PATH``, ``HOME``, proxy and CA
  variables), no system or global configuration (``GIT_CONFIG_NOSYSTEM``, ``GIT_CONFIG_GLOBAL``),
  in a fresh scratch directory under which no repository is looked for, with English messages
  and no prompts (``GIT_TERMINAL_PROMPT=0``, ``BatchMode=yes`` for ssh). Only the ``http``,
  ``https``, ``ssh`` and ``git`` transports are allowed (``GIT_ALLOW_PROTOCOL``): a local path
  or ``ext::`` URL is refused before git runs.
* **Basic auth** goes through a credential helper configured in the environment
  (``GIT_CONFIG_KEY_n``) for the URL's ``scheme://host`` alone, which prints the user name and
  password from two environment variables of the git process: never an argument, never a log
  line, never sent to another host a redirect points at.
* **SSH** keys are written to a ``0600`` file in the scratch directory for ``GIT_SSH_COMMAND``
  (user ``git``); host keys are ignored when unknown hosts are trusted (kpack's
  ``INSECURE_SSH_TRUST_UNKNOWN_HOSTS``, true by default), else checked against the secret's
  ``known_hosts`` if it has one, else against ``~/.ssh/known_hosts``.
* **Deadline.** git runs in its own process group; past ``timeout_seconds`` (or when the caller is
  cancelled) the whole group (git and its ``git-remote-http``/``ssh`` children) is killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import urllib.parse
from collections.abc import Mapping, Sequence
from pathlib import Path

from services.git import credentials, failures

GIT = "git"
ALLOWED_SCHEMES = frozenset({"http", "https", "ssh", "git", "git+ssh", "ssh+git"})
ALLOWED_PROTOCOLS = "http:https:ssh:git"
PASSED_THROUGH = (
    "PATH",
    "HOME",
    "TMPDIR",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "GIT_SSL_CAINFO",
    "GIT_SSL_CAPATH",
)
"""What git keeps of Kiln's environment (proxies, CA bundles); nothing else leaks in."""
USERNAME_VARIABLE = "KILN_GIT_USERNAME"
PASSWORD_VARIABLE = "KILN_GIT_PASSWORD"
_HELPER = (
    '!f() { if test "$1" = get; then '
    f'printf \'username=%s\\npassword=%s\\n\' "${USERNAME_VARIABLE}" "${PASSWORD_VARIABLE}"; fi; }}; f'
)
KEY_FILE = "ssh-key"
KNOWN_HOSTS_FILE = "known_hosts"


def check_url(url: str) -> None:
    """Refuse a URL git should not be handed: not ``http(s)``, ``ssh`` (also scp-like
    ``git@host:path``) or ``git``; one that would read as an option (``-…``)."""
    problem = None
    if url.startswith("-") or not url.strip():
        problem = "it is empty or starts with '-'"
    elif "://" in url:
        if urllib.parse.urlsplit(url).scheme not in ALLOWED_SCHEMES:
            problem = "its scheme is not http, https, ssh or git"
    elif "::" in url or credentials.parse_url(url).scheme != "ssh":
        problem = "it is neither a URL nor an scp-like ssh address (user@host:path)"
    if problem is not None:
        raise failures.InvalidRepositoryURLError(
            f"invalid git repository URL {failures.redacted(url)!r}: {problem}; "
            f"use https://host/org/repo.git or git@host:org/repo.git"
        )


def environment(
    url: str,
    given: credentials.Credentials | None,
    *,
    scratch: Path,
    trust_unknown_hosts: bool,
    connect_timeout: float,
    base: Mapping[str, str],
) -> dict[str, str]:
    """git's environment for ``url`` with ``given`` credentials; ssh key files are expected in
    ``scratch`` (:func:`write_ssh_files`). ``base`` is the process environment to pick from."""
    env = {name: base[name] for name in PASSED_THROUGH if name in base}
    env.update(
        LC_ALL="C",
        LANGUAGE="C",
        GIT_TERMINAL_PROMPT="0",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CEILING_DIRECTORIES=str(scratch.parent),
        GIT_ALLOW_PROTOCOL=ALLOWED_PROTOCOLS,
        GIT_SSH_VARIANT="ssh",
        GIT_SSH_COMMAND=shlex.join(_ssh_command(given, scratch, trust_unknown_hosts, connect_timeout)),
    )
    settings: dict[str, str] = {
        "gc.auto": "0",
        "maintenance.auto": "false",
        "fetch.writeCommitGraph": "false",
    }
    parts = urllib.parse.urlsplit(url)
    if isinstance(given, credentials.BasicAuth) and parts.scheme in ("http", "https") and parts.hostname:
        if any(c in given.username + given.password for c in "\n\r\0"):
            raise credentials.InvalidGitSecretError(
                f"git secret {given.secret!r}: its username or password holds a line break or NUL"
            )
        origin = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
        settings[f"credential.{origin}.helper"] = _HELPER
        env[USERNAME_VARIABLE] = given.username
        env[PASSWORD_VARIABLE] = given.password
    env["GIT_CONFIG_COUNT"] = str(len(settings))
    for index, (key, value) in enumerate(settings.items()):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    return env


def _ssh_command(
    given: credentials.Credentials | None, scratch: Path, trust_unknown_hosts: bool, connect_timeout: float
) -> list[str]:
    command = ["ssh", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={max(1, round(connect_timeout))}"]
    if isinstance(given, credentials.SshKey):
        command += ["-i", str(scratch / KEY_FILE), "-o", "IdentitiesOnly=yes"]
    if trust_unknown_hosts:
        command += ["-o", "StrictHostKeyChecking=no", "-o", f"UserKnownHostsFile={os.devnull}"]
        command += ["-o", "LogLevel=ERROR"]
    elif isinstance(given, credentials.SshKey) and given.known_hosts.strip():
        command += [
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            f"UserKnownHostsFile={scratch / KNOWN_HOSTS_FILE}",
        ]
    return command


def write_ssh_files(given: credentials.Credentials | None, scratch: Path) -> None:
    """The ssh key (and known hosts) of ``given`` as ``0600`` files in ``scratch``."""
    if not isinstance(given, credentials.SshKey):
        return
    key = given.private_key if given.private_key.endswith("\n") else given.private_key + "\n"
    _write_private(scratch / KEY_FILE, key)
    if given.known_hosts.strip():
        _write_private(scratch / KNOWN_HOSTS_FILE, given.known_hosts.rstrip("\n") + "\n")


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)


async def run(
    args: Sequence[str],
    *,
    url: str,
    given: credentials.Credentials | None,
    timeout_seconds: float,
    trust_unknown_hosts: bool,
    cwd: Path | None = None,
    commit: str | None = None,
    binary: str = GIT,
) -> str:
    """``git <args>`` about repository ``url``: its standard output, or the translated error
    (:func:`services.git.failures.translate`; :class:`~services.git.failures.GitUnavailableError`
    past ``timeout_seconds``). ``cwd`` defaults to a scratch directory removed afterwards."""
    finished = await execute(
        args,
        url=url,
        given=given,
        timeout_seconds=timeout_seconds,
        trust_unknown_hosts=trust_unknown_hosts,
        cwd=cwd,
        binary=binary,
    )
    if finished.returncode != 0:
        raise failures.translate(finished.stderr, url=url, given=given, commit=commit)
    return finished.stdout


@dataclasses.dataclass(frozen=True)
class Finished:
    """A git command that ran to its end."""

    returncode: int
    stdout: str
    stderr: str


async def execute(
    args: Sequence[str],
    *,
    url: str,
    given: credentials.Credentials | None,
    timeout_seconds: float,
    trust_unknown_hosts: bool,
    cwd: Path | None = None,
    binary: str = GIT,
) -> Finished:
    """``git <args>`` about repository ``url`` as :func:`run` runs it, whatever its exit code;
    only an unusable URL, a missing binary and the deadline raise."""
    check_url(url)
    scratch = Path(tempfile.mkdtemp(prefix="kiln-git-"))
    try:
        write_ssh_files(given, scratch)
        env = environment(
            url,
            given,
            scratch=scratch,
            trust_unknown_hosts=trust_unknown_hosts,
            connect_timeout=timeout_seconds,
            base=os.environ,
        )
        return await _communicate(
            [binary, *args], cwd=cwd or scratch, env=env, timeout_seconds=timeout_seconds
        )
    except TimeoutError:
        raise failures.timed_out(url=url, seconds=timeout_seconds) from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


async def _communicate(
    argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], timeout_seconds: float
) -> Finished:
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except FileNotFoundError as e:
        raise failures.GitUnavailableError(
            f"the {argv[0]!r} binary is not installed here (Debian: apt-get install git)"
        ) from e
    try:
        async with asyncio.timeout(timeout_seconds):
            out, err = await process.communicate()
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
    assert process.returncode is not None
    return Finished(process.returncode, out.decode(errors="replace"), err.decode(errors="replace"))
