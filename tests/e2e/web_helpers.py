"""Helpers for the tests of the web UI (docs/WEB.md) over plain HTTP: a small HTML tree, the forms of a page as a
browser would submit them, and a client that keeps its cookies like a browser does.

The forms are read from the pages themselves (`Page.form(...)`), then submitted with some values changed: the tests
post exactly what the page offers, plus the invalid input under test, without guessing hidden fields.

Nothing here imports huggingface_hub: conftest.py must configure the client before it is imported."""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Callable, Iterable, Iterator

from access_helpers import Resp, remember_cookies, request

SESSION_COOKIE = "hangar_session"
ANON_CSRF_COOKIE = "hangar_csrf"

# --- a small HTML tree ---------------------------------------------------------------------------------------

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    parent: "Node | None" = field(default=None, repr=False)
    children: list["Node | str"] = field(default_factory=list, repr=False)

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.attrs.get(name, default)

    def has(self, name: str) -> bool:
        return name in self.attrs

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def iter(self) -> Iterator["Node"]:
        """This node and every element below it, in document order."""
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter()

    def find_all(self, tag: str | None = None, pred: Callable[["Node"], bool] | None = None) -> list["Node"]:
        return [n for n in self.iter() if (tag is None or n.tag == tag) and (pred is None or pred(n))]

    def find(self, tag: str | None = None, pred: Callable[["Node"], bool] | None = None) -> "Node | None":
        found = self.find_all(tag, pred)
        return found[0] if found else None

    def by_id(self, id_: str) -> "Node | None":
        return self.find(pred=lambda n: n.get("id") == id_)

    def ancestors(self) -> Iterator["Node"]:
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    @property
    def text(self) -> str:
        """The text content, whitespace collapsed."""
        parts: list[str] = []

        def walk(n: Node) -> None:
            for c in n.children:
                if isinstance(c, str):
                    parts.append(c)
                elif c.tag not in ("script", "style"):
                    walk(c)

        walk(self)
        return " ".join("".join(parts).split())


class _TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: (v if v is not None else "") for k, v in attrs}, parent=self.stack[-1])
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        node = Node(tag, {k: (v if v is not None else "") for k, v in attrs}, parent=self.stack[-1])
        self.stack[-1].children.append(node)

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def parse_html(text: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root


# --- forms ---------------------------------------------------------------------------------------------------

_TEXTLIKE_SKIP = {"submit", "button", "reset", "image", "file"}


@dataclass
class Form:
    node: Node
    action: str  # absolute path (and query) on the site
    method: str

    def controls(self) -> list[Node]:
        return [n for n in self.node.iter() if n.tag in ("input", "select", "textarea", "button")]

    def field_names(self) -> set[str]:
        return {n.get("name") for n in self.controls() if n.get("name")}

    def control(self, name: str, value: str | None = None) -> Node | None:
        for n in self.controls():
            if n.get("name") == name and (value is None or n.get("value") == value):
                return n
        return None

    def buttons(self) -> list[Node]:
        return [
            n
            for n in self.controls()
            if (n.tag == "button" and (n.get("type") or "submit").lower() == "submit")
            or (n.tag == "input" and (n.get("type") or "").lower() == "submit")
        ]

    def button(self, label: str | re.Pattern) -> Node:
        for b in self.buttons():
            text = b.text if b.tag == "button" else (b.get("value") or "")
            if (label.search(text) if isinstance(label, re.Pattern) else text.strip() == label):
                return b
        raise AssertionError(
            f"the form posting to {self.action} has no submit button {label!r}; it has "
            f"{[b.text if b.tag == 'button' else b.get('value') for b in self.buttons()]}"
        )

    def default_values(self) -> list[tuple[str, str]]:
        """What a browser sends when the form is submitted untouched (without the submit button's own pair)."""
        out: list[tuple[str, str]] = []
        for n in self.controls():
            name = n.get("name")
            if not name or n.has("disabled"):
                continue
            if n.tag == "input":
                kind = (n.get("type") or "text").lower()
                if kind in _TEXTLIKE_SKIP:
                    continue
                if kind in ("checkbox", "radio"):
                    if n.has("checked"):
                        out.append((name, n.get("value") if n.get("value") is not None else "on"))
                    continue
                out.append((name, n.get("value") or ""))
            elif n.tag == "textarea":
                out.append((name, n.text))
            elif n.tag == "select":
                options = n.find_all("option")
                chosen = [o for o in options if o.has("selected")] or options[:1]
                for o in chosen:
                    out.append((name, o.get("value") if o.get("value") is not None else o.text))
        return out

    def values(
        self, changes: dict[str, "str | list[str] | None"] | None = None, *, button: "str | re.Pattern | None" = None
    ) -> list[tuple[str, str]]:
        """The submitted pairs: the defaults, with each name in `changes` replaced by its value (a list for repeated
        fields such as checkboxes; None removes the field), plus the pair of the clicked `button` if it has a name."""
        changes = dict(changes or {})
        pairs = [(k, v) for k, v in self.default_values() if k not in changes]
        for k, v in changes.items():
            if v is None:
                continue
            for item in [v] if isinstance(v, str) else v:
                pairs.append((k, item))
        if button is not None:
            b = self.button(button)
            if b.get("name"):
                pairs.append((b.get("name"), b.get("value") or ""))
        return pairs


@dataclass
class Page:
    url: str  # path and query of the request
    resp: Resp
    _dom: Node | None = field(default=None, repr=False)

    @property
    def status(self) -> int:
        return self.resp.status

    @property
    def html(self) -> str:
        return self.resp.text

    @property
    def dom(self) -> Node:
        if self._dom is None:
            self._dom = parse_html(self.html)
        return self._dom

    def describe(self) -> str:
        return f"{self.url}: {self.resp.describe()}"

    @property
    def h1(self) -> str:
        h = self.dom.find("h1")
        return h.text if h is not None else ""

    @property
    def main_text(self) -> str:
        main = self.dom.find("main") or self.dom
        return main.text

    def forms(self, within: Node | None = None) -> list[Form]:
        """Every form of the page (or of the element `within`), with its action resolved against the page's URL."""
        out = []
        base = self.url
        for n in (within or self.dom).find_all("form"):
            action = n.get("action")
            if action is None or action == "":
                action = base
            else:
                action = urllib.parse.urljoin(base, action)
            out.append(Form(n, action, (n.get("method") or "get").lower()))
        return out

    def form(self, *fields: str, button: "str | re.Pattern | None" = None, action: str | None = None) -> Form:
        """The form that has every field in `fields` (and, if given, the submit `button`, or posts to `action`)."""
        for f in self.forms():
            if not set(fields) <= f.field_names():
                continue
            if action is not None and urllib.parse.urlsplit(f.action).path != action:
                continue
            if button is not None:
                try:
                    f.button(button)
                except AssertionError:
                    continue
            return f
        raise AssertionError(
            f"no form with fields {fields}"
            + (f" and button {button!r}" if button else "")
            + (f" posting to {action}" if action else "")
            + f" on {self.url} (status {self.status}); forms: "
            + str([(f.action, sorted(f.field_names())) for f in self.forms()])
        )

    def csrf(self) -> str:
        """The value of the first hidden `csrf` field of the page."""
        node = self.dom.find("input", lambda n: n.get("name") == "csrf")
        assert node is not None, f"{self.url} has no csrf field"
        return node.get("value") or ""

    def is_checked(self, name: str, value: str) -> bool:
        node = self.dom.find("input", lambda n: n.get("name") == name and n.get("value") == value)
        return node is not None and node.has("checked")

    def input_value(self, name: str) -> str | None:
        """The value attribute of the (first) text-like input named `name`, as re-rendered by the server."""
        for n in self.dom.find_all("input", lambda n: n.get("name") == name):
            if (n.get("type") or "text").lower() not in ("hidden", "checkbox", "radio", "submit"):
                return n.get("value") or ""
        return None

    def field_error(self, name: str) -> Node | None:
        """`<p class="field-error" id="<name>-error">`, as docs/WEB.md puts it next to an invalid field."""
        return self.dom.find(pred=lambda n: n.get("id") == f"{name}-error" and "field-error" in n.classes)


# --- a client that keeps cookies like a browser ----------------------------------------------------------------


class WebClient:
    """GETs pages and submits their forms, keeping cookies by hand (see access_helpers.AccountClient for why)."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        self.cookies: dict[str, str] = {}
        self.last_set_cookies: list[str] = []

    @property
    def has_session(self) -> bool:
        return SESSION_COOKIE in self.cookies

    def _keep(self, resp: Resp) -> None:
        self.last_set_cookies = resp.set_cookies
        remember_cookies(self.cookies, resp.set_cookies)

    def _url(self, path: str) -> str:
        return path if path.startswith("http") else self.endpoint + path

    def get(self, path: str, *, follow: bool = False) -> Page:
        resp = request("GET", self._url(path), cookies=self.cookies or None)
        self._keep(resp)
        hops = 0
        while follow and resp.status in (301, 302, 303, 307, 308) and hops < 10:
            path = urllib.parse.urljoin(path, resp.headers["location"])
            resp = request("GET", self._url(path), cookies=self.cookies or None)
            self._keep(resp)
            hops += 1
        return Page(_path_of(path), resp)

    def post(self, path: str, pairs: Iterable[tuple[str, str]], *, follow: bool = False) -> Page:
        body = urllib.parse.urlencode(list(pairs)).encode()
        resp = request(
            "POST",
            self._url(path),
            body=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            cookies=self.cookies or None,
        )
        self._keep(resp)
        page = Page(_path_of(path), resp)
        if follow and resp.status in (301, 302, 303):
            return self.get(urllib.parse.urljoin(path, resp.headers["location"]), follow=True)
        return page

    def submit(
        self,
        form: Form,
        changes: dict[str, "str | list[str] | None"] | None = None,
        *,
        button: "str | re.Pattern | None" = None,
        follow: bool = False,
    ) -> Page:
        assert form.method == "post", f"the form posting to {form.action} uses method {form.method!r}, not post"
        return self.post(form.action, form.values(changes, button=button), follow=follow)

    @classmethod
    def signed_in(cls, endpoint: str, username: str, password: str) -> "WebClient":
        """Logs in through the /login form; fails the test unless it answers 303 with a session cookie."""
        client = cls(endpoint)
        page = client.get("/login")
        assert page.status == 200, page.describe()
        form = page.form("username", "password")
        done = client.submit(form, {"username": username, "password": password})
        assert done.status == 303, f"logging in {username} through /login: {done.describe()}"
        assert client.has_session, f"/login set no {SESSION_COOKIE} cookie: {done.resp.set_cookies}"
        return client


def _path_of(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def location(resp: Resp) -> tuple[str, dict[str, str]]:
    """The path and the decoded query parameters of a redirect's Location header."""
    loc = resp.headers.get("location")
    assert loc, f"no Location header: {resp.describe()}"
    parts = urllib.parse.urlsplit(loc)
    return parts.path, {k: v[0] for k, v in urllib.parse.parse_qs(parts.query).items()}


def cookie_attributes(set_cookies: list[str], name: str) -> dict[str, str] | None:
    """The attributes (lower-cased names) of the Set-Cookie header that sets `name`, or None."""
    for header in set_cookies:
        first, *attrs = [p.strip() for p in header.split(";")]
        if first.split("=", 1)[0].strip() != name:
            continue
        out = {"value": first.split("=", 1)[1] if "=" in first else ""}
        for a in attrs:
            k, _, v = a.partition("=")
            out[k.strip().lower()] = v.strip()
        return out
    return None


def foreign_references(page: Page, own_host: str) -> list[str]:
    """`src`/`href` URLs of link, script, img (and the other elements that make a browser load something) that point
    to another host than `own_host` (host:port)."""
    out = []
    loaders = {"link": "href", "script": "src", "img": "src", "iframe": "src", "source": "src", "video": "src",
               "audio": "src", "embed": "src", "object": "data", "input": "src"}
    for n in page.dom.iter():
        attr = loaders.get(n.tag)
        if attr is None:
            continue
        values = [n.get(attr)]
        if n.tag in ("img", "source") and n.get("srcset"):
            values += [part.strip().split(" ")[0] for part in n.get("srcset").split(",")]
        for url in values:
            if not url:
                continue
            parts = urllib.parse.urlsplit(url.strip())
            if parts.netloc and parts.netloc.lower() != own_host.lower():
                out.append(f"<{n.tag} {attr}={url!r}>")
    return out


def unlabelled_controls(page: Page) -> list[str]:
    """Visible form controls without a label: no `<label for=id>` and no enclosing `<label>`."""
    label_for = {n.get("for") for n in page.dom.find_all("label") if n.get("for")}
    missing = []
    for n in page.dom.iter():
        if n.tag not in ("input", "select", "textarea"):
            continue
        if n.tag == "input" and (n.get("type") or "text").lower() in ("hidden", "submit", "button", "reset", "image"):
            continue
        if n.get("id") and n.get("id") in label_for:
            continue
        if any(a.tag == "label" for a in n.ancestors()):
            continue
        missing.append(f"<{n.tag} name={n.get('name')!r} id={n.get('id')!r} type={n.get('type')!r}>")
    return missing
