"""The live status page in a real browser: Debian's chromium, headless, driven by playwright.

A sandbox runs every service (its admin endpoint serves the page); the browser opens the page once
and is never reloaded. It shows the Images with their first builds; a git push then makes a new
build of each, which the page shows as it happens (reason COMMIT, building, at a step) and then
with its outcome; a build that fails shows among the recent failures with its step. No console
error, no page error, no failed request, no answer >= 400 all along.

A process that keeps no cache of Images (a build-runner alone) serves the page only with
``KILN_STATUS_PAGE=true``, and then from caches it starts for the page.

The README's screenshot is this page: ``KILN_STATUS_PAGE_SCREENSHOT=docs/status-page.png`` writes
it there (the test always takes one, to a temporary folder).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import ConsoleMessage, Page, Request, Response, async_playwright

from services.testbed.kubelet import failures
from services.testbed.sandbox import examples, harness

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not Path("/usr/bin/chromium").exists(),
        reason="Debian's chromium is not installed (bash deploy/local/up.sh --tests installs it)",
    ),
]

CHROMIUM = "/usr/bin/chromium"
REGISTRY = "127.0.0.1:5000"
STEP_SECONDS = 0.4
"""Each simulated build step takes this long: a build runs about 3 s, long enough to be seen running."""
WAIT_MS = 30_000


class Box:
    """The sandbox and this test's namespace and Images: two that build, one whose builds fail."""

    def __init__(self, sb: harness.Sandbox, namespace: str, suffix: str) -> None:
        self.sb = sb
        self.namespace = namespace
        self.good = (f"web-{suffix}", f"api-{suffix}")
        self.bad = f"broken-{suffix}"

    def names(self) -> tuple[str, ...]:
        return (*self.good, self.bad)


@pytest.fixture
async def box() -> AsyncIterator[Box]:
    suffix = uuid.uuid4().hex[:8]
    broken = f"broken-{suffix}"

    def plan(pod: dict[str, Any]) -> failures.Failure | None:
        labels = (pod.get("metadata") or {}).get("labels") or {}
        if labels.get("image.kpack.io/image") == broken:
            return failures.Failure(step="build", message="go: compile error")
        return None

    async with harness.sandbox(registry_host=REGISTRY, step_seconds=STEP_SECONDS, fail=plan) as sb:
        await sb.add_builder()
        yield Box(sb, "apps", suffix)  # the emulator is this test's own: only registry names must differ


class Watched:
    """What went wrong in the page, as the browser reports it."""

    def __init__(self, page: Page) -> None:
        self.problems: list[str] = []
        self.loads = 0
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("requestfailed", self._failed)
        page.on("response", self._answered)
        page.on("load", self._loaded)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self.problems.append(f"console {message.type}: {message.text}")

    def _failed(self, request: Request) -> None:
        self.problems.append(f"request failed: {request.method} {request.url}: {request.failure}")

    def _answered(self, response: Response) -> None:
        if response.status >= 400:
            self.problems.append(f"answer {response.status}: {response.url}")

    def _loaded(self, _: Page) -> None:
        self.loads += 1


def row(namespace: str, image: str) -> str:
    return f'#images tr[data-image="{namespace}/{image}"]'


async def cells(page: Page, namespace: str, image: str) -> dict[str, str]:
    """The row of an Image: its build, reason, outcome and step as shown."""
    found: dict[str, str] = await page.eval_on_selector(
        row(namespace, image),
        """tr => Object.fromEntries(["build", "reason", "outcome", "step"].map(
             c => [c, tr.querySelector("td." + c).textContent]))""",
    )
    return found


async def shows(page: Page, namespace: str, image: str, *, build: str, reason: str, outcome: str) -> None:
    """Until the Image's row shows that build (``#N``), reason and outcome."""
    await page.wait_for_function(
        """([selector, build, reason, outcome]) => {
             const tr = document.querySelector(selector);
             if (!tr) return false;
             const text = (c) => tr.querySelector("td." + c).textContent;
             return text("build").startsWith(build + " ") && text("reason") === reason
               && text("outcome") === outcome;
           }""",
        arg=[row(namespace, image), build, reason, outcome],
        timeout=WAIT_MS,
    )


async def test_the_page_shows_a_new_build_as_it_happens_without_errors(box: Box, tmp_path: Path) -> None:
    sb, namespace = box.sb, box.namespace
    url = sb.wiring.admin_url
    assert url is not None
    async with httpx.AsyncClient(base_url=url) as http:
        for path in ("/", "/status"):
            answer = await http.get(path)
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith("text/html")
    for name in box.names():
        example = "volume-cache" if name == box.good[1] else "registry-cache"
        await sb.apply(
            examples.image(example, name=name, namespace=namespace, registry=REGISTRY, builder="default")
        )

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            watched = Watched(page)
            await page.goto(f"{url}/status")
            await page.wait_for_selector("#live.on", timeout=WAIT_MS)
            await page.evaluate("window.kilnOpenedOnce = true")

            # the Images, with their first builds and outcomes
            for name in box.good:
                await shows(page, namespace, name, build="#1", reason="CONFIG", outcome="SUCCEEDED")
            await shows(page, namespace, box.bad, build="#1", reason="CONFIG", outcome="FAILURE")
            assert (await cells(page, namespace, box.bad))["step"] == "build"

            # a push: each Image's new build appears, running at a step, then with its outcome
            await sb.push_commit()
            web = box.good[0]
            await shows(page, namespace, web, build="#2", reason="COMMIT", outcome="BUILDING")
            running = await cells(page, namespace, web)
            assert running["step"] != ""
            running_row = page.locator(f'#running tr[data-build="{namespace}/{web}-build-2"]')
            await running_row.wait_for(timeout=WAIT_MS)
            assert await running_row.locator("td.reason").text_content() == "COMMIT"
            shot = tmp_path / "status-page.png"  # builds running, a failure: the README's picture
            await page.screenshot(path=str(shot), full_page=True)
            assert shot.read_bytes().startswith(b"\x89PNG")
            if target := os.environ.get("KILN_STATUS_PAGE_SCREENSHOT"):
                shutil.copyfile(shot, target)
            for name in box.good:
                await shows(page, namespace, name, build="#2", reason="COMMIT", outcome="SUCCEEDED")
            await shows(page, namespace, box.bad, build="#2", reason="COMMIT", outcome="FAILURE")
            failed = page.locator(f'#failures tr[data-build="{namespace}/{box.bad}-build-2"]')
            await failed.wait_for(timeout=WAIT_MS)
            assert await failed.locator("td.step").text_content() == "build"
            assert "go: compile error" in (await failed.inner_text())
            await page.wait_for_selector("#running tr.empty", timeout=WAIT_MS)

            assert await page.evaluate("window.kilnOpenedOnce") is True, "the page was reloaded"
            assert watched.loads == 1
            assert await page.locator("#backlog [data-lane=total] b").text_content() == "0"
            assert watched.problems == []
        finally:
            await browser.close()


@pytest.mark.parametrize(
    ("setting", "served"),
    [(None, False), (True, True)],
    ids=["unset: a build-runner alone serves no page", "true: it serves one, with caches of its own"],
)
async def test_a_process_without_an_image_cache_serves_the_page_only_when_asked(
    setting: bool | None, served: bool
) -> None:
    name = f"solo-{uuid.uuid4().hex[:8]}"
    async with harness.sandbox(
        registry_host=REGISTRY, services=("build-runner",), run_settings={"status_page": setting}
    ) as sb:
        await sb.apply(
            examples.image("registry-cache", name=name, namespace="apps", registry=REGISTRY, builder="x")
        )
        url = sb.wiring.admin_url
        assert url is not None
        async with httpx.AsyncClient(base_url=url) as http:
            assert (await http.get("/healthz")).status_code == 200
            if not served:
                assert (await http.get("/status.json")).status_code == 404
                assert (await http.get("/")).status_code == 404
                return
            for _ in range(100):
                shown = (await http.get("/status.json")).json()
                if shown["images"]:
                    break
                await asyncio.sleep(0.05)
    assert shown["synced"] is True
    assert [(row["namespace"], row["name"], row["build"]) for row in shown["images"]] == [
        ("apps", name, None)
    ]
