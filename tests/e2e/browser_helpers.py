"""Browser tests of the web UI (docs/WEB.md): Playwright driving Debian's Chromium, headless.

Playwright's own browser downloads are never used: the tests launch the Chromium of the system, at /usr/bin/chromium
unless $HANGAR_CHROMIUM names another executable (scripts/test.sh installs Debian's `chromium` package when it is
missing). Screenshots go to $HANGAR_SCREENSHOT_DIR, by default target/screenshots; docs/screenshots holds the set
shown in the README (`HANGAR_SCREENSHOT_DIR=docs/screenshots`).

The fixtures (`browser`, `new_page`, `page`) live in conftest.py; the helpers below are what the tests call.
Every page opened through `new_page` fails its test when the page throws a JavaScript error or the browser
requests anything from another host (docs/WEB.md: "Nothing is loaded from another host").
"""

from __future__ import annotations

import os
import re
import urllib.parse
from pathlib import Path

from hangar_e2e import REPO_ROOT

DEFAULT_CHROMIUM = "/usr/bin/chromium"
VIEWPORT = {"width": 1280, "height": 900}
# Playwright's default is 30 s; a server-rendered page on localhost answers in milliseconds.
ACTION_TIMEOUT_MS = 10_000


def chromium_path() -> Path:
    return Path(os.environ.get("HANGAR_CHROMIUM") or DEFAULT_CHROMIUM)


def screenshot_dir() -> Path:
    configured = os.environ.get("HANGAR_SCREENSHOT_DIR")
    return Path(configured).resolve() if configured else REPO_ROOT / "target" / "screenshots"


def shot(page, name: str) -> Path:
    """Saves a full-page PNG of what `page` shows as <screenshot dir>/<name>.png and returns its path."""
    directory = screenshot_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.png"
    page.screenshot(path=str(path), full_page=True, animations="disabled", caret="hide")
    return path


class PageWatch:
    """What a page did that a test must not allow: JavaScript errors, requests to other hosts, dialogs."""

    def __init__(self, own_host: str):
        self.own_host = own_host
        self.errors: list[str] = []
        self.foreign_requests: list[str] = []
        self.dialogs: list[str] = []

    def attach(self, page) -> None:
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: {exc}"))
        page.on("request", self._on_request)
        # hangar.js may ask for confirmation (docs/WEB.md); the user says yes. Playwright would otherwise dismiss it.
        page.on("dialog", self._on_dialog)

    def _on_request(self, req) -> None:
        parts = urllib.parse.urlsplit(req.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.netloc != self.own_host:
            self.foreign_requests.append(f"{req.resource_type} {req.url} (from {req.frame.url if req.frame else '?'})")

    def _on_dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.accept()

    def problems(self) -> list[str]:
        return [f"JavaScript error: {e}" for e in self.errors] + [
            f"request to another host: {r}" for r in self.foreign_requests
        ]


# --- actions a user takes -------------------------------------------------------------------------------------


def form_with(page, field: str):
    """The form that holds the control named `field`."""
    return page.locator("form").filter(has=page.locator(f'[name="{field}"]'))


def click_through(page, target):
    """Clicks `target` (a button that submits a form, or a link) and waits for the page it leads to; fails the test
    unless that page answers below 400. Returns the Playwright response of the page the browser ends on."""
    with page.expect_navigation() as nav:
        target.click()
    response = nav.value
    status = response.status if response is not None else None
    if status is None or status >= 400:
        main = page.locator("main")
        text = main.inner_text() if main.count() else page.content()[:2000]
        raise AssertionError(f"{page.url} answered {status} after the click:\n{text}")
    return response


def submit(page, field: str, button: str | re.Pattern | None = None):
    """Submits the form holding `field` with its button named `button` (else its only submit button), as
    `click_through` does."""
    form = form_with(page, field)
    if button is not None:
        return click_through(page, form.get_by_role("button", name=button))
    buttons = form.locator('button:not([type="button"]):not([type="reset"]), input[type="submit"]')
    count = buttons.count()
    assert count == 1, f"the form with field {field!r} on {page.url} has {count} submit buttons; name the one to click"
    return click_through(page, buttons)


def log_in(page, user, next_path: str | None = None) -> None:
    """Signs `user` in through the /login form, the way a person does."""
    page.goto("/login" + (f"?next={urllib.parse.quote(next_path, safe='')}" if next_path else ""))
    page.get_by_label("Username or email").fill(user.name)
    page.get_by_label("Password", exact=True).fill(user.password)
    submit(page, "password")
    assert urllib.parse.urlsplit(page.url).path != "/login", f"logging in {user.name} failed: {page.url}"


def path_of(page) -> str:
    parts = urllib.parse.urlsplit(page.url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def pick(page, name: str, value: str, label: str | re.Pattern | None = None):
    """Ticks the radio button or checkbox `name`=`value`, checking first that a person can read its label."""
    control = page.locator(f'input[name="{name}"][value="{value}"]')
    if label is not None:
        from playwright.sync_api import expect

        expect(control).to_have_accessible_name(label)
    control.check()
    return control


def choose(scope, name: str, value: str) -> None:
    """Selects `value` of the control `name` in `scope` (a page, or a locator such as one form), whether it is a
    <select> or radio buttons."""
    control = scope.locator(f'[name="{name}"]')
    assert control.count() >= 1, f"no control named {name!r}"
    if control.first.evaluate("el => el.tagName") == "SELECT":
        assert control.count() == 1, f"{control.count()} controls named {name!r}: choose within one form"
        control.select_option(value)
    else:
        scope.locator(f'input[name="{name}"][value="{value}"]').check()
