"""README command 1, read from README.md's own text, and the check of what it printed.

    python3 deploy/local/readme_command.py extract README.md      # prints command 1 on one line
    python3 deploy/local/readme_command.py check OUT [ERR]        # exit 1 naming what is wrong

``extract`` reads the first fenced ``sh`` block under the README's "Two commands on a fresh
machine" heading and prints its first command (comment lines skipped, continuation lines joined),
so CI runs exactly what a reader copies. ``check`` reads the command's standard output (and
standard error): two finished builds as JSON lines, build 2 a ``COMMIT`` build whose analyze and
restore read the cache image build 1 wrote, pinned by digest, and the sandbox's pointers to its
kubeconfig, metrics and webhooks. Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import json
import pathlib
import re
import sys
from typing import Any

SECTION = "Two commands on a fresh machine"
PINNED = re.compile(r"^[^@\s]+@sha256:[0-9a-f]{64}$")
WHERE_THINGS_ARE = ("kubeconfig: ", "/metrics", "webhooks: ")
"""What the sandbox prints on standard error so a user can look into it while it runs."""


class ReadmeError(ValueError):
    """README.md no longer holds command 1 where CI reads it."""


def section(readme: str, *, heading: str = SECTION) -> str:
    """The text under the ``## {heading}`` heading, up to the next heading of that level."""
    match = re.search(rf"^## {re.escape(heading)}[ \t]*$(.*?)(?=^## |\Z)", readme, re.M | re.S)
    if match is None:
        raise ReadmeError(f"README.md has no '## {heading}' section; CI reads command 1 from there")
    return match.group(1)


def sh_blocks(text: str) -> list[str]:
    """The bodies of the fenced ```sh blocks in ``text``, in order."""
    return re.findall(r"^```sh[ \t]*\n(.*?)^```[ \t]*$", text, re.M | re.S)


def commands(block: str) -> list[str]:
    """The shell commands of a block: comment and blank lines dropped, ``\\`` continuations joined."""
    found: list[str] = []
    pending = ""
    for line in block.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1].rstrip() + " "
            continue
        found.append(pending + stripped)
        pending = ""
    if pending:
        raise ReadmeError(f"a command ends in a line continuation with nothing after it: {pending!r}")
    return found


def command(readme: str, *, number: int = 1) -> str:
    """Command ``number`` of the first ```sh block under "Two commands on a fresh machine"."""
    blocks = sh_blocks(section(readme))
    if not blocks:
        raise ReadmeError(f"the '{SECTION}' section of README.md has no ```sh block")
    found = commands(blocks[0])
    if len(found) < number:
        raise ReadmeError(
            f"the first ```sh block under '{SECTION}' has {len(found)} command(s), not {number}"
        )
    return found[number - 1]


def builds(stdout: str) -> list[dict[str, Any]]:
    """The JSON objects on standard output (pip and up.sh print their own lines there too)."""
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def problems(stdout: str, *, stderr: str = "") -> list[str]:
    """What is wrong with command 1's output; empty when it shows two builds sharing a pinned cache."""
    found = builds(stdout)
    if len(found) != 2:
        return [f"expected 2 finished builds as JSON lines on standard output, got {len(found)}"]
    first, second = found
    wrong = [
        f"{build.get('name')}: succeeded is {build.get('succeeded')!r}, expected 'True'"
        for build in found
        if build.get("succeeded") != "True"
    ]
    if second.get("reason") != "COMMIT":
        wrong.append(f"build 2: reason is {second.get('reason')!r}, expected 'COMMIT' (the pushed commit)")
    written = first.get("latestCacheImage", "")
    if not PINNED.match(written):
        wrong.append(f"build 1: latestCacheImage {written!r} is not pinned by digest (name@sha256:…)")
    for step in ("analyze", "restore"):
        args = second.get("cacheArgs", {}).get(step)
        if args != [f"-cache-image={written}"]:
            wrong.append(f"build 2: {step} reads {args!r}, expected the cache build 1 wrote: {written!r}")
    if not PINNED.match(second.get("latestCacheImage", "")):
        wrong.append(f"build 2: latestCacheImage {second.get('latestCacheImage')!r} is not pinned by digest")
    unsaid = [what for what in WHERE_THINGS_ARE if what not in stderr]
    wrong += [f"standard error does not say where things are: no {what!r}" for what in unsaid]
    return wrong


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "extract":
        try:
            print(command(pathlib.Path(argv[1]).read_text()))
        except ReadmeError as e:
            print(f"readme: {e}", file=sys.stderr)
            return 1
        return 0
    if len(argv) in (2, 3) and argv[0] == "check":
        stderr = pathlib.Path(argv[2]).read_text() if len(argv) == 3 else ""
        wrong = problems(pathlib.Path(argv[1]).read_text(), stderr=stderr)
        for line in wrong:
            print(f"readme: command 1: {line}", file=sys.stderr)
        return 1 if wrong else 0
    print("usage: readme_command.py extract README.md | check STDOUT_FILE [STDERR_FILE]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
