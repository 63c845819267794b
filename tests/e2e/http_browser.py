"""A browser without a browser: a `requests.Session` that keeps cookies, reads the forms of each page from its HTML and
submits them as a browser would (the hidden `csrf` field included, because it is in the form). Used by the web tests
that check what a person sees over plain HTTP (test_device_login.py, test_web_admin_orgs.py).

Pages and forms are parsed with web_helpers (`Page`, `Form`), so a form is found by its fields and buttons, not by
guessing its hidden inputs.

Nothing here imports huggingface_hub: conftest.py must configure the client before it is imported."""

from __future__ import annotations

import re
import urllib.parse

import requests

from access_helpers import Resp
from web_helpers import SESSION_COOKIE, Form, Page


def _page(resp: requests.Response) -> Page:
    parts = urllib.parse.urlsplit(resp.url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    headers = {k.lower(): v for k, v in resp.headers.items()}
    raw = getattr(resp.raw, "headers", None)
    set_cookies = raw.getlist("Set-Cookie") if raw is not None and hasattr(raw, "getlist") else []
    return Page(path, Resp(resp.status_code, headers, set_cookies, resp.content))


class Browser:
    """One person's browser: its own cookie jar. `get`/`post` follow redirects unless `follow=False`, and answer a
    `web_helpers.Page` (its `url` is where the browser ended up)."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint.rstrip("/")
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy from the environment: the server is on 127.0.0.1

    def _url(self, path: str) -> str:
        return path if path.startswith("http") else self.endpoint + path

    @property
    def has_session(self) -> bool:
        return self.session.cookies.get(SESSION_COOKIE) is not None

    def get(self, path: str, *, follow: bool = True) -> Page:
        resp = self.session.get(self._url(path), allow_redirects=follow, timeout=30)
        return _page(resp)

    def post(self, path: str, pairs, *, follow: bool = True) -> Page:
        resp = self.session.post(self._url(path), data=list(pairs), allow_redirects=follow, timeout=30)
        return _page(resp)

    def submit(
        self,
        form: Form,
        changes: dict | None = None,
        *,
        button: "str | re.Pattern | None" = None,
        follow: bool = True,
    ) -> Page:
        """Submits `form` with its current values, `changes` applied (None removes a field), as if `button` was
        clicked."""
        assert form.method == "post", f"the form posting to {form.action} uses method {form.method!r}"
        return self.post(form.action, form.values(changes, button=button), follow=follow)

    def log_in(self, username: str, password: str) -> Page:
        """Signs in through the /login form; fails unless the browser ends up signed in."""
        page = self.get("/login")
        assert page.status == 200, page.describe()
        done = self.submit(page.form("username", "password", button="Log in"), {"username": username, "password": password})
        assert self.has_session, f"signing in {username} through /login did not start a session: {done.describe()}"
        assert done.status == 200, done.describe()
        return done


def signed_in(endpoint: str, user) -> Browser:
    """A browser in which the conftest `User` `user` is signed in."""
    b = Browser(endpoint)
    b.log_in(user.name, user.password)
    return b


def form_in(page: Page, node, button: "str | re.Pattern") -> Form:
    """The form inside the element `node` (a table row, say) that has the submit button `button`."""
    assert node is not None, f"{page.url}: the element that should hold the button {button!r} is missing"
    for f in page.forms(within=node):
        try:
            f.button(button)
        except AssertionError:
            continue
        return f
    raise AssertionError(f"{page.url}: no form with the button {button!r} in <{node.tag} {node.attrs}>: {node.text}")


def row(page: Page, table_id: str, attr: str, value: str):
    """`<tr attr=value>` of the table `#table_id`, or None."""
    table = page.dom.by_id(table_id)
    if table is None:
        return None
    return table.find("tr", lambda n: n.get(attr) == value)


def notice_text(page: Page) -> str:
    """The text of the page's notices (`<p class="notice ...">`, `role=alert` summaries)."""
    nodes = page.dom.find_all(pred=lambda n: "notice" in n.classes)
    return " ".join(n.text for n in nodes)
