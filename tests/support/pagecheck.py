"""How the browser tests run the site in Chromium and judge a page; their fixtures.

The real app (the session's build, behind uvicorn on 127.0.0.1: ``tests/web_server.py``) in Chromium.

What they need, and what happens without it:

* the Python package ``playwright`` (its driver ships in the wheel; no ``playwright install``:
  no browser is downloaded) and Debian's Chromium at ``/usr/bin/chromium`` (``apt-get install
  chromium``; another binary with ``CPBKG_CHROMIUM=/path``). ``.ci/install --test`` installs both.
* When either is missing the tests are skipped with the reason (:data:`SKIP`) -- unless the
  environment variable ``CI`` is set (``CI=true``): then they fail, so that CI can never pass
  without them.

Chromium is started headless with its background services off (``ARGS``): a closed network
refuses its own connections (safe browsing, updates, sync) and they are noise in the logs.

Every page is opened through :class:`Visit`, which records what a user would notice or a
reviewer would flag: console errors, uncaught exceptions, failed requests, HTTP errors, and any
request for another host (answered by an abort: the site must work from the package alone).

Screenshots (full page) go to ``test-artifacts/screenshots/`` (``CPBKG_SCREENSHOTS=/dir`` to
put them elsewhere); CI keeps them as artefacts.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from support.web_server import backend_of

#: what ``from pagecheck import *`` gives a test module: its fixtures
__all__ = ["browser", "open_tab", "shots"]

CHROMIUM = os.environ.get("CPBKG_CHROMIUM", "/usr/bin/chromium")
#: headless, and nothing of Chromium's own traffic (the network here is closed to it)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("CPBKG_SCREENSHOTS", ROOT / "test-artifacts" / "screenshots"))
#: the Accept-Language a browser in each interface language sends
ACCEPT_LANGUAGE = {"en": "en-GB,en;q=0.9", "zh": "zh-CN,zh;q=0.9,en;q=0.5"}
LOCALE = {"en": "en-GB", "zh": "zh-CN"}
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def browser_unavailable() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the Python package playwright is not installed (pip install 'playwright>=1.40')"
    if not Path(CHROMIUM).is_file():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CPBKG_CHROMIUM)"
    return None


@dataclass
class Visit:
    """One browser tab on the live site, recording everything that went wrong."""

    page: Any
    base: str
    #: where screenshots go (None: not kept)
    shots: Path | None
    problems: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        host = urlsplit(self.base).netloc
        page = self.page
        page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text} ({self.where()})")
                if m.type == "error" else None)
        page.on("pageerror", lambda e: self.problems.append(f"uncaught exception: {e} ({self.where()})"))
        page.on("requestfailed", lambda r: self.problems.append(f"request failed: {r.url} {r.failure}")
                if not self._aborted_elsewhere(r.url) else None)
        page.on("response", lambda r: self.problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)

        def route(route: Any) -> None:
            url = route.request.url
            if urlsplit(url).scheme in ("http", "https", "ws", "wss") and urlsplit(url).netloc != host:
                self.problems.append(f"request for another host: {url} ({self.where()})")
                route.abort()
            else:
                route.continue_()

        page.route("**/*", route)
        self._host = host

    def _aborted_elsewhere(self, url: str) -> bool:
        return urlsplit(url).netloc not in ("", self._host)  # already recorded by route()

    def where(self) -> str:
        try:
            return self.page.url
        except Exception:
            return "?"

    def goto(self, path: str, *, status: int = 200) -> Any:
        response = self.page.goto(self.base + path, wait_until="load")
        assert response is not None and response.status == status, (path, response and response.status)
        self.settle()
        return response

    def settle(self) -> None:
        """Wait until the page has loaded and its requests are done."""
        self.page.wait_for_load_state("load")
        self.page.wait_for_load_state("networkidle")

    def path(self) -> str:
        parts = urlsplit(self.page.url)
        return parts.path + ("?" + parts.query if parts.query else "")

    def assert_clean(self) -> None:
        problems, self.problems[:] = list(self.problems), []
        assert not problems, "\n".join(problems)

    def screenshot(self, name: str) -> Path | None:
        """A full-page PNG named ``name`` (None when this run keeps none)."""
        if self.shots is None:
            return None
        target = self.shots / (re.sub(r"[^\w.-]+", "_", name) + ".png")
        self.page.screenshot(path=str(target), full_page=True)
        return target


# ---------------------------------------------------------------------- fixtures
# (tests/browser/conftest.py hands them to the browser tests)


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Chromium, for the tests of one package (``tests/browser``): Playwright's sync API keeps an
    event loop running in the main thread while it is open, so a session-wide browser made every
    later ``asyncio.run`` in the run fail ("cannot be called from a running event loop")."""
    reason = browser_unavailable()
    if reason is not None:
        if in_ci():
            pytest.fail(f"CI is set, so the browser tests must run, but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def shots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture()
def open_tab(request: pytest.FixtureRequest, browser: Any, live: str, shots: Path) -> Iterator[Any]:
    """``open_tab(lang="en", viewport=DESKTOP, base=live)``: a fresh browser context (no cookies, no
    cache) whose Accept-Language is that of ``lang``; every tab is checked clean when the test ends.

    The tests run once per backend of ``web_app`` (``tests/web_server.py``); the pages are the same,
    so screenshots are kept from the embedded one only."""
    contexts, visits = [], []
    keep = shots if backend_of(request) == "embedded" else None

    def make(lang: str = "en", viewport: dict[str, int] | None = None, base: str | None = None) -> Visit:
        context = browser.new_context(viewport=viewport or DESKTOP, locale=LOCALE[lang],
                                      extra_http_headers={"Accept-Language": ACCEPT_LANGUAGE[lang]})
        context.set_default_timeout(20_000)
        contexts.append(context)
        visit = Visit(context.new_page(), base or live, keep)
        visits.append(visit)
        return visit

    yield make
    try:
        for visit in visits:
            visit.assert_clean()
    finally:
        for context in contexts:
            context.close()


#: ``pytestmark = SKIP`` in a browser test module: skipped with the reason when the browser is
#: missing, outside CI (in CI the ``browser`` fixture fails instead)
SKIP = pytest.mark.skipif(browser_unavailable() is not None and not in_ci(),
                          reason=f"browser tests skipped: {browser_unavailable()}")
