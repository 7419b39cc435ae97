"""Serve a built site on 127.0.0.1 and read its pages in Debian's Chromium, driven by Playwright.

Shared by the browser tests (``tests/test_site_browser.py``) and ``make screenshots``
(``scripts/screenshots.py``). Playwright's own browser download cannot work on the build machines
(no internet), so this drives the system Chromium (``apt-get install chromium``) instead.

Every page is opened the way a reader opens it: over HTTP, with JavaScript, fonts and MathJax,
in a 1280 x 900 window. Any request that would leave 127.0.0.1 is recorded and blocked, so a page
that needs the internet shows up as a failure instead of a slow load.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

#: Flags for a quiet, headless, offline Chromium in a container (no sandbox as root, no GPU,
#: none of the background traffic a desktop browser makes).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--mute-audio",
]

#: The window the site is checked in: a common laptop width, at 100 % zoom.
VIEWPORT = {"width": 1280, "height": 900}

#: A phone's screen in CSS pixels (an iPhone 12 to 15), portrait.
PHONE = {"width": 390, "height": 844}

#: The screens the site is checked (and shot) at, by name.
SCREENS = {"laptop": VIEWPORT, "phone": PHONE}

INSTALL_HINT = (
    "install Debian's Chromium (`apt-get install chromium`) and Playwright for Python "
    "(`pip install -r requirements.txt`) to run the browser checks"
)


def find_chromium() -> str | None:
    """The system Chromium: ``$CHROMIUM`` if set (only that), else ``chromium`` on PATH."""
    if "CHROMIUM" in os.environ:
        candidates = [os.environ["CHROMIUM"]]
    else:
        candidates = [
            "/usr/bin/chromium",
            shutil.which("chromium"),
            shutil.which("chromium-browser"),
        ]
    return next((c for c in candidates if c and Path(c).is_file() and os.access(c, os.X_OK)), None)


def missing_requirements() -> str | None:
    """Why the browser checks cannot run here, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return f"Playwright for Python is not installed: {INSTALL_HINT}"
    if find_chromium() is None:
        return f"no Chromium found: {INSTALL_HINT}"
    return None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@contextlib.contextmanager
def serve(directory: Path):
    """Serve ``directory`` over HTTP on 127.0.0.1 (a free port) from a thread; yield its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextlib.contextmanager
def chromium():
    """Launch the system Chromium headless with Playwright; yield the ``Browser``."""
    from playwright.sync_api import sync_playwright

    executable = find_chromium()
    if executable is None:
        raise RuntimeError(INSTALL_HINT)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Visit:
    """What happened while one page loaded."""

    url: str
    status: int | None = None
    load_s: float = float("nan")  # navigation start to the window's load event
    ready_s: float = float(
        "nan"
    )  # ... to MathJax having typeset the page (what a reader waits for)
    console_errors: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)


class Reader:
    """One browser tab in a fresh context (light or dark mode) that records what each page does."""

    def __init__(self, browser, base_url: str, *, dark: bool = False, viewport: dict | None = None):
        self.base_url = base_url
        self.host = urlsplit(base_url).netloc
        # A first visit (a fresh context, nothing in localStorage) by a reader whose system is in
        # light or dark mode: the theme's default "auto" mode follows the system.
        self.context = browser.new_context(
            viewport=viewport or VIEWPORT, color_scheme="dark" if dark else "light"
        )
        self.context.route("**/*", self._only_local)
        self.page = self.context.new_page()
        self._visit: Visit | None = None
        self.page.on("console", self._on_console)
        self.page.on(
            "pageerror", lambda error: self._record("console_errors", f"uncaught: {error}")
        )
        self.page.on("response", self._on_response)

    # -- recording ---------------------------------------------------------------------------
    def _record(self, kind: str, text: str) -> None:
        if self._visit is not None:
            getattr(self._visit, kind).append(text)

    def _only_local(self, route):
        url = route.request.url
        if url.startswith(("data:", "blob:", "about:")) or urlsplit(url).netloc == self.host:
            route.continue_()
        else:
            self._record("external_requests", url)
            route.abort()

    def _on_console(self, message):
        if message.type == "error":
            location = message.location.get("url", "") if message.location else ""
            self._record(
                "console_errors", f"{message.text} ({location})" if location else message.text
            )

    def _on_response(self, response):
        if response.status >= 400:
            self._record("failed_requests", f"{response.status} {response.url}")

    # -- reading -----------------------------------------------------------------------------
    def open(self, path: str, *, timeout_ms: int = 30_000) -> Visit:
        """Load ``path`` (relative to the site), wait until MathJax has typeset it, return the record."""
        visit = self._visit = Visit(url=self.base_url + path)
        start = time.perf_counter()
        response = self.page.goto(visit.url, wait_until="load", timeout=timeout_ms)
        visit.status = response.status if response else None
        visit.load_s = (
            self.page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd") / 1000
        )
        wait_for_mathjax(self.page, timeout_ms=timeout_ms)
        visit.ready_s = time.perf_counter() - start
        return visit

    def close(self) -> None:
        self.context.close()


def wait_for_mathjax(page, timeout_ms: int = 30_000) -> None:
    """Wait for MathJax's start-up promise (it typesets the page) if the page has any math."""
    if page.evaluate("document.querySelectorAll('.math').length") == 0:
        return
    page.wait_for_function(
        "() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=timeout_ms
    )
    page.evaluate("() => MathJax.startup.promise")
