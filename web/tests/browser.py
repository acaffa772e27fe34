"""Headless Chromium (Debian's package) driven by Playwright, for the page tests.

Every page a test opens is watched: console errors, failed requests and HTTP error
answers are collected and a test asserts there are none; `axe_check` injects the
vendored axe-core and fails on serious or critical violations; `screens` writes a
desktop and a 375 px screenshot into `.artifacts/screens/`.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("GAZER_CHROMIUM", "/usr/bin/chromium")
AXE_JS = Path(__file__).parent / "assets" / "axe-core-4.14.1" / "axe.min.js"
SCREENS = ROOT / ".artifacts" / "screens"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
SETUP_HINT = "run `make browser-setup` (as root) or `sudo apt-get install -y chromium`"


def missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"no Chromium at {CHROMIUM}: {SETUP_HINT}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed: `.venv/bin/pip install -r requirements.txt`"
    return None


@dataclass
class Watch:
    """What went wrong on a page: console errors, failed requests, error answers."""

    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    error_responses: list[str] = field(default_factory=list)
    expected_statuses: dict[str, int] = field(default_factory=dict)

    def attach(self, page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.console_errors.append(f"pageerror: {exc}"))
        page.on(
            "requestfailed",
            lambda request: self.failed_requests.append(f"{request.url} {request.failure}"),
        )
        page.on("response", self._response)

    def expect(self, url: str, status: int) -> None:
        """An error status that the test asks for (a 404 page) is not a failure."""
        self.expected_statuses[url] = status

    def _console(self, message) -> None:
        if message.type == "error":
            text = message.text
            location = message.location or {}
            url = location.get("url", "")
            if url in self.expected_statuses and "status of" in text:
                return
            self.console_errors.append(f"{text} ({url})")

    def _response(self, response) -> None:
        if response.status >= 400 and self.expected_statuses.get(response.url) != response.status:
            self.error_responses.append(f"{response.status} {response.url}")

    def assert_clean(self) -> None:
        assert not self.console_errors, self.console_errors
        assert not self.failed_requests, self.failed_requests
        assert not self.error_responses, self.error_responses


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)


def axe_check(page) -> list[dict]:
    """Run axe-core on the page; return the serious and critical violations."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE_JS.read_text())
    result = page.evaluate(
        "() => axe.run(document, {resultTypes: ['violations']})"
        ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))})))"
    )
    return [v for v in result if v["impact"] in ("serious", "critical")]


def screens(page, name: str) -> list[Path]:
    """A full-page screenshot at desktop width and at 375 px; the viewport comes back."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    before = page.viewport_size or DESKTOP
    out = []
    for label, size in (("desktop", DESKTOP), ("375", PHONE)):
        page.set_viewport_size(size)
        page.wait_for_timeout(150)
        path = SCREENS / f"{name}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        out.append(path)
    page.set_viewport_size(before)
    return out


def horizontal_overflow(page) -> int:
    """How far the document is wider than the viewport (0 when nothing sticks out)."""
    return page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
