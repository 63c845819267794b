"""Helpers for the access-control tests (docs/ACCESS.md): account API calls with HTTP Basic or a cookie session,
the SMTP mailbox the session server delivers to, and mail parsing.

Nothing here imports huggingface_hub at module level: conftest.py must configure the client before it is imported.
"""

from __future__ import annotations

import base64
import email
import email.policy
import json as jsonlib
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import getaddresses
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any, Callable

from hangar_e2e import HangarServer, database_url, free_port, hangar_bin, unique_name

MAIL_TIMEOUT = 10.0  # seconds a test waits for a mail before failing

# --- raw HTTP with every header kept (Set-Cookie may come more than once) --------------------------------


def remember_cookies(cookies: dict[str, str], set_cookies: list[str]) -> None:
    """Applies `Set-Cookie` headers to a name → value jar, as a browser does (expired ones removed)."""
    for header in set_cookies:
        jar = SimpleCookie()
        jar.load(header)
        for name, morsel in jar.items():
            expired = morsel["max-age"] in ("0", "-1") or "1970" in morsel["expires"]
            if expired or not morsel.value:
                cookies.pop(name, None)
            else:
                cookies[name] = morsel.value


@dataclass
class Resp:
    status: int
    headers: dict[str, str]  # lower-cased names; the last value wins
    set_cookies: list[str]
    body: bytes

    def json(self) -> Any:
        return jsonlib.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    @property
    def error_code(self) -> str | None:
        return self.headers.get("x-error-code")

    @property
    def message(self) -> str:
        """What a user is told: X-Error-Message and the body's "error", joined."""
        parts = []
        if self.headers.get("x-error-message"):
            parts.append(self.headers["x-error-message"])
        try:
            err = self.json().get("error")
            if isinstance(err, str):
                parts.append(err)
            elif isinstance(err, list):
                parts.extend(map(str, err))
        except (ValueError, AttributeError):
            if self.body:
                parts.append(self.text)
        return "\n".join(parts)

    def describe(self) -> str:
        return f"HTTP {self.status} X-Error-Code={self.error_code!r}: {self.text[:600]}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D401
        return None


def request(
    method: str,
    url: str,
    *,
    json: Any = None,
    form: dict[str, str] | None = None,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    basic: tuple[str, str] | None = None,
    token: str | None = None,
    cookies: dict[str, str] | None = None,
    follow_redirects: bool = False,
    timeout: float = 30,
) -> Resp:
    all_headers = dict(headers or {})
    if json is not None:
        body = jsonlib.dumps(json).encode()
        all_headers.setdefault("Content-Type", "application/json")
    elif form is not None:
        body = urllib.parse.urlencode(form).encode()
        all_headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    if basic is not None:
        all_headers["Authorization"] = "Basic " + base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode()
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    if cookies:
        all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    if body is None and method in ("POST", "PUT", "PATCH"):
        body = b""
    req = urllib.request.Request(url, data=body, method=method, headers=all_headers)
    opener = urllib.request.build_opener() if follow_redirects else urllib.request.build_opener(_NoRedirect)
    try:
        resp = opener.open(req, timeout=timeout)
    except urllib.error.HTTPError as e:
        resp = e
    try:
        return Resp(
            resp.getcode(),
            {k.lower(): v for k, v in resp.headers.items()},
            resp.headers.get_all("Set-Cookie") or [],
            resp.read(),
        )
    finally:
        resp.close()


def basic_header(username: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


# --- account credentials: HTTP Basic or a session cookie -------------------------------------------------

SESSION_COOKIE = "hangar_session"


class AccountClient:
    """Calls Hangar's account API with account credentials: HTTP Basic (`basic=(user, password)`) or the session
    cookie set by sign-up or login. In a session, every request other than GET/HEAD carries `X-CSRF-Token` unless
    `csrf=False` is passed.

    Cookies are kept by hand rather than with http.cookiejar: a `Secure` cookie (right for production) would
    otherwise never be sent back over the plain-HTTP test endpoint, and the tests are about the server's
    session handling, not the cookie jar's."""

    def __init__(self, endpoint: str, *, basic: tuple[str, str] | None = None):
        self.endpoint = endpoint
        self.basic = basic
        self.cookies: dict[str, str] = {}
        self.csrf: str | None = None

    # -- plumbing

    @property
    def has_session(self) -> bool:
        return SESSION_COOKIE in self.cookies

    def _keep_cookies(self, resp: Resp) -> None:
        remember_cookies(self.cookies, resp.set_cookies)

    def call(
        self,
        method: str,
        path: str,
        json: Any = None,
        *,
        form: dict[str, str] | None = None,
        csrf: bool = True,
        headers: dict[str, str] | None = None,
    ) -> Resp:
        all_headers = dict(headers or {})
        if self.has_session and csrf and method not in ("GET", "HEAD") and self.csrf:
            all_headers["X-CSRF-Token"] = self.csrf
        resp = request(
            method,
            self.endpoint + path,
            json=json,
            form=form,
            headers=all_headers,
            basic=self.basic,
            cookies=self.cookies or None,
        )
        self._keep_cookies(resp)
        return resp

    def get(self, path: str, **kw) -> Resp:
        return self.call("GET", path, **kw)

    def post(self, path: str, json: Any = None, **kw) -> Resp:
        return self.call("POST", path, json, **kw)

    def put(self, path: str, json: Any = None, **kw) -> Resp:
        return self.call("PUT", path, json, **kw)

    def patch(self, path: str, json: Any = None, **kw) -> Resp:
        return self.call("PATCH", path, json, **kw)

    def delete(self, path: str, **kw) -> Resp:
        return self.call("DELETE", path, **kw)

    # -- sessions

    @classmethod
    def login(cls, endpoint: str, username: str, password: str) -> "AccountClient":
        """POST /api/login; fails the test unless it answers 200 with a session cookie and a CSRF token."""
        client = cls(endpoint)
        resp = client.post("/api/login", {"username": username, "password": password}, csrf=False)
        assert resp.status == 200, f"login of {username}: {resp.describe()}"
        assert client.has_session, f"login set no {SESSION_COOKIE} cookie: {resp.set_cookies}"
        client.csrf = resp.json()["csrfToken"]
        assert client.csrf
        return client

    @classmethod
    def signup(
        cls, endpoint: str, username: str, email_address: str, password: str, fullname: str | None = None
    ) -> tuple["AccountClient", Resp]:
        """POST /api/signup. The client keeps the session cookie the server sets, and its CSRF token from
        GET /api/account."""
        client = cls(endpoint)
        body = {"username": username, "email": email_address, "password": password}
        if fullname is not None:
            body["fullname"] = fullname
        resp = client.post("/api/signup", body, csrf=False)
        if resp.status == 201 and client.has_session:
            account = client.get("/api/account")
            if account.status == 200:
                client.csrf = account.json().get("csrfToken")
        return client, resp

    # -- account

    def account(self) -> dict:
        resp = self.get("/api/account")
        assert resp.status == 200, f"GET /api/account: {resp.describe()}"
        return resp.json()

    # -- tokens

    def create_token(
        self,
        name: str,
        role: str = "read",
        *,
        expires_at: str | None = None,
        fine_grained: dict | None = None,
        password: str | None = None,
    ) -> Resp:
        body: dict[str, Any] = {"name": name, "role": role}
        if expires_at is not None:
            body["expiresAt"] = expires_at
        if fine_grained is not None:
            body["fineGrained"] = fine_grained
        if password is not None:
            body["password"] = password
        return self.post("/api/settings/tokens", body)

    def new_token(self, name: str, role: str = "read", **kw) -> dict:
        """Creates a token and returns the created token object (with its secret under "token")."""
        if role == "admin" and "password" not in kw and self.basic:
            kw["password"] = self.basic[1]
        resp = self.create_token(name, role, **kw)
        assert resp.status == 201, f"creating token {name!r} ({role}): {resp.describe()}"
        created = resp.json()
        assert created["token"].startswith("hf_"), created
        return created

    def list_tokens(self) -> list[dict]:
        resp = self.get("/api/settings/tokens")
        assert resp.status == 200, f"GET /api/settings/tokens: {resp.describe()}"
        return resp.json()

    def rename_token(self, token_id, name: str) -> Resp:
        return self.patch(f"/api/settings/tokens/{token_id}", {"name": name})

    def refresh_token(self, token_id) -> Resp:
        return self.post(f"/api/settings/tokens/{token_id}/refresh")

    def revoke_token(self, token_id) -> Resp:
        return self.delete(f"/api/settings/tokens/{token_id}")

    def audit_log(self, **params) -> Resp:
        query = ("?" + urllib.parse.urlencode(params)) if params else ""
        return self.get(f"/api/settings/audit-log{query}")

    # -- organizations

    def create_org(self, name: str, fullname: str | None = None) -> Resp:
        body = {"name": name}
        if fullname is not None:
            body["fullname"] = fullname
        return self.post("/api/organizations/new", body)

    def set_member(self, org: str, user: str, role: str) -> Resp:
        return self.put(f"/api/organizations/{org}/members/{user}", {"role": role})

    def remove_member(self, org: str, user: str) -> Resp:
        return self.delete(f"/api/organizations/{org}/members/{user}")

    def set_token_policy(self, org: str, policy: str) -> Resp:
        return self.put(f"/api/organizations/{org}/settings/token-policy", {"policy": policy})

    def token_approvals(self, org: str) -> Resp:
        return self.get(f"/api/organizations/{org}/settings/token-approvals")

    def decide_token(self, org: str, token_id, state: str) -> Resp:
        return self.post(f"/api/organizations/{org}/settings/token-approvals/{token_id}", {"state": state})

    def create_org_token(self, org: str, name: str, role: str = "read", **extra) -> Resp:
        return self.post(f"/api/organizations/{org}/settings/tokens", {"name": name, "role": role, **extra})

    def org_audit_log(self, org: str) -> Resp:
        return self.get(f"/api/organizations/{org}/audit-log")


def account_of(server: HangarServer, user) -> AccountClient:
    """HTTP Basic account credentials of a conftest `User`."""
    return AccountClient(server.endpoint, basic=(user.name, user.password))


def new_org(server: HangarServer, admin, name: str) -> str:
    """Creates organization `name` with `admin` (a conftest User) as its admin."""
    resp = account_of(server, admin).create_org(name)
    assert resp.status == 201, f"creating org {name}: {resp.describe()}"
    return name


def set_member(server: HangarServer, admin, org: str, user, role: str) -> None:
    resp = account_of(server, admin).set_member(org, user.name, role)
    assert resp.status in (200, 201, 204), f"adding {user.name} to {org} as {role}: {resp.describe()}"


def fine_grained(
    *scoped: tuple[str, str, list[str]], global_: list[str] = (), can_read_gated_repos: bool = False
) -> dict:
    """The `fineGrained` body of a token: `scoped` entries are (type, name, permissions)."""
    return {
        "canReadGatedRepos": can_read_gated_repos,
        "global": list(global_),
        "scoped": [{"entity": {"type": t, "name": n}, "permissions": list(p)} for t, n, p in scoped],
    }


def new_fine_grained_token(server: HangarServer, user, *scoped, **kw) -> dict:
    """A fine-grained token of `user` made through the API; arguments as `fine_grained`. Returns the token object."""
    body = fine_grained(*scoped, **kw)
    return account_of(server, user).new_token(unique_name("fg"), "fineGrained", fine_grained=body)


def whoami_raw(endpoint: str, token: str) -> Resp:
    return request("GET", f"{endpoint}/api/whoami-v2", token=token)


def token_api(endpoint: str, token: str):
    from huggingface_hub import HfApi

    return HfApi(endpoint=endpoint, token=token)


def iso_in(seconds: float) -> str:
    """An ISO-8601 UTC timestamp `seconds` from now, as `2027-01-31T12:00:00Z`."""
    return (datetime.now(timezone.utc) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def poll(condition: Callable[[], Any], *, timeout: float, interval: float = 0.1, what: str = "condition") -> Any:
    """Calls `condition` until it returns something truthy (returned) or `timeout` seconds pass (AssertionError)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def http_error(exc: BaseException):
    """The HfHubHTTPError behind an exception: hf_hub_download wraps some HEAD failures (e.g. a 403 that is not
    GatedRepo) in LocalEntryNotFoundError, keeping the HTTP error as its cause."""
    from huggingface_hub.errors import HfHubHTTPError

    seen = exc
    while seen is not None:
        if isinstance(seen, HfHubHTTPError):
            return seen
        seen = seen.__cause__
    raise AssertionError(f"no HTTP error behind {type(exc).__name__}: {exc}")


def assert_mentions(text: str, *words: str) -> None:
    for word in words:
        assert word.lower() in text.lower(), f"{word!r} is not mentioned in: {text}"


# --- mail --------------------------------------------------------------------------------------------------

_LINK = re.compile(r"https?://[^\s<>\"'\]\)]+")


@dataclass
class Mail:
    recipients: list[str]  # lower-cased: the SMTP envelope's RCPT TO plus the To header
    subject: str
    body: str  # the text/plain part, else the HTML one
    raw: bytes = field(repr=False)

    def is_to(self, address: str) -> bool:
        return address.lower() in self.recipients

    @property
    def text(self) -> str:
        return f"{self.subject}\n{self.body}"

    @property
    def links(self) -> list[str]:
        return [m.rstrip(".,;:") for m in _LINK.findall(self.body)]

    @property
    def link(self) -> str:
        return first_link(self)


def first_link(mail: Mail) -> str:
    links = mail.links
    assert links, f"the mail {mail.subject!r} has no http(s) link:\n{mail.body}"
    return links[0]


def query_param(url: str, name: str) -> str:
    values = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).get(name)
    assert values, f"{url} has no {name}= parameter"
    return values[0]


def parse_mail(raw: bytes, envelope_recipients: list[str] = ()) -> Mail:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    recipients = [r.lower() for r in envelope_recipients]
    for _, addr in getaddresses([str(v) for v in msg.get_all("To", [])]):
        if addr and addr.lower() not in recipients:
            recipients.append(addr.lower())
    part = msg.get_body(preferencelist=("plain", "html"))
    body = part.get_content() if part is not None else ""
    if part is not None and part.get_content_type() == "text/html":
        import html

        body = html.unescape(body)
    return Mail(recipients=recipients, subject=str(msg.get("Subject", "")), body=body, raw=raw)


class Mailbox:
    """Every mail the session server sent, in arrival order. `wait_for` hands out each mail at most once, so
    two waits for 'a mail to bob' return two different mails."""

    def __init__(self):
        self._cond = threading.Condition()
        self._mails: list[Mail] = []
        self._taken: set[int] = set()
        self.port: int | None = None  # the SMTP listener's, once started

    def deliver(self, mail: Mail) -> None:
        with self._cond:
            self._mails.append(mail)
            self._cond.notify_all()

    def to(self, address: str) -> list[Mail]:
        """Every mail to `address` received so far (taken or not)."""
        with self._cond:
            return [m for m in self._mails if m.is_to(address)]

    def wait_for(self, address: str, subject: str = "", *, text: str = "", timeout: float = MAIL_TIMEOUT) -> Mail:
        """The first mail not yet returned that went to `address`, whose subject contains `subject` and whose
        subject or body contains `text` (both case-insensitive). Waits up to `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i, mail in enumerate(self._mails):
                    if (
                        i not in self._taken
                        and mail.is_to(address)
                        and subject.lower() in mail.subject.lower()
                        and text.lower() in mail.text.lower()
                    ):
                        self._taken.add(i)
                        return mail
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    got = [m.subject for m in self._mails if m.is_to(address)]
                    raise AssertionError(
                        f"no mail to {address} with subject containing {subject!r} and text containing {text!r} "
                        f"within {timeout:.0f} s; mails to that address so far: {got}"
                    )
                self._cond.wait(remaining)


class _SmtpHandler:
    def __init__(self, box: Mailbox):
        self.box = box

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode()
        self.box.deliver(parse_mail(raw, envelope.rcpt_tos))
        return "250 Message accepted for delivery"


def start_smtp(box: Mailbox):
    """An aiosmtpd listener on 127.0.0.1:<free port> delivering into `box`; returns the started Controller."""
    from aiosmtpd.controller import Controller

    controller = Controller(_SmtpHandler(box), hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller


def smtp_env(port: int) -> dict[str, str]:
    return {
        "HANGAR_SMTP_HOST": "127.0.0.1",
        "HANGAR_SMTP_PORT": str(port),
        "HANGAR_SMTP_TLS": "none",
        "HANGAR_SMTP_FROM": "hangar@example.test",
    }


def outbox_mails(data_dir: Path) -> list[Mail]:
    """The mails a server without SMTP wrote as <data-dir>/outbox/*.eml."""
    outbox = data_dir / "outbox"
    if not outbox.is_dir():
        return []
    return [parse_mail(p.read_bytes()) for p in sorted(outbox.rglob("*.eml"))]


# --- private servers ---------------------------------------------------------------------------------------


def start_private_server(base: Path, env: dict[str, str] | None = None) -> HangarServer:
    """A server of its own (free port, data directory under `base`), with no SMTP settings: mail goes to the
    outbox. Callers stop it."""
    srv = HangarServer(hangar_bin(), base / "data", free_port(), database_url(), base / "server.log", env=env)
    srv.start()
    return srv
