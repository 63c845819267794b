"""Device login (OAuth 2.0 device authorization, RFC 8628; docs/ACCESS.md "Device login", docs/WEB.md "Device login").

The client side is the official one: `huggingface_hub.utils._oauth_device` (request_device_code, poll_device_token,
refresh_access_token, all pointed at the session server through HF_ENDPOINT, which conftest.py sets before the
client is imported), the `hf auth login` command, and our own `hangar auth login --browser`. The person who approves
the code is a browser without a browser (http_browser.Browser): they sign in through /login, open the URL the
program printed and submit the form of /device as it is on the page.
"""

from __future__ import annotations

import configparser
import os
import re
import secrets
import subprocess
import threading
import time
import urllib.parse
from datetime import datetime, timedelta, timezone

import pytest
from huggingface_hub import HfApi, constants
from huggingface_hub.errors import DeviceCodeError, HfHubHTTPError
from huggingface_hub.utils._oauth_device import poll_device_token, refresh_access_token, request_device_code

from access_helpers import account_of, query_param, request
from cli_helpers import HF, Cli
from hangar_e2e import HangarServer, database_url, free_port, hangar_bin, unique_name
from http_browser import Browser, signed_in

USER_CODE = re.compile(r"\b([B-DF-HJ-NP-TV-XZ]{4}-[B-DF-HJ-NP-TV-XZ]{4})\b")
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
TOKEN_TTL = timedelta(days=30)


class Pending(Exception):
    """Raised from poll_device_token's on_pending hook: the server answered authorization_pending."""


def assert_pending(info: dict) -> None:
    """The official poller sees `authorization_pending` (and is stopped there). Any other answer makes it raise
    DeviceCodeError (or, for a transient answer, keep polling until the shortened deadline)."""

    def stop() -> None:
        raise Pending()

    with pytest.raises(Pending):
        poll_device_token(dict(info, expires_in=4), on_pending=stop)


def approval_form(browser: Browser, info: dict):
    """Opens the URL the program shows (verification_uri_complete) and returns the page and its approval form."""
    page = browser.get(info["verification_uri_complete"])
    assert page.status == 200, page.describe()
    assert urllib.parse.urlsplit(page.url).path == "/device", page.url
    assert page.input_value("user_code") == info["user_code"], (
        f"the Code box does not hold the code the program showed ({info['user_code']}): {page.input_value('user_code')!r}"
    )
    return page, page.form("user_code", "role", button="Authorize")


def approve(browser: Browser, info: dict, role: str, name: str):
    page, form = approval_form(browser, info)
    done = browser.submit(form, {"role": role, "name": name}, button="Authorize")
    assert done.status == 200, done.describe()
    assert done.h1 == "Device authorized", done.describe()
    assert role in done.main_text, done.main_text
    return done


def deny(browser: Browser, info: dict):
    page, form = approval_form(browser, info)
    done = browser.submit(form, button="Deny")
    assert done.status == 200, done.describe()
    assert done.h1 == "Login denied", done.describe()
    return done


def tokens_of(server, user) -> list[dict]:
    """The user's tokens as GET /api/settings/tokens lists them (HTTP Basic with their password)."""
    return account_of(server, user).list_tokens()


def token_named(server, user, name: str) -> dict:
    found = [t for t in tokens_of(server, user) if t["name"] == name]
    assert len(found) == 1, f"expected one token named {name!r}; the user has {[t['name'] for t in tokens_of(server, user)]}"
    return found[0]


def parse_iso(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def status_of(call) -> int:
    with pytest.raises(HfHubHTTPError) as exc:
        call()
    return exc.value.response.status_code


def raw_device_poll(endpoint: str, device_code: str) -> dict:
    resp = request(
        "POST",
        f"{endpoint}/oauth/token",
        form={"grant_type": DEVICE_GRANT, "device_code": device_code, "client_id": constants.DEVICE_CODE_OAUTH_CLIENT_ID},
    )
    return {"status": resp.status, **resp.json()}


# --- the device-code grant with the official client -------------------------------------------------------------


def test_a_read_approved_device_login_gives_an_expiring_read_token(server, make_user):
    user = make_user("device-read")
    before = {t["id"] for t in tokens_of(server, user)}

    info = request_device_code()
    assert info["verification_uri"] == f"{server.endpoint}/device", info
    assert USER_CODE.fullmatch(info["user_code"]), info["user_code"]
    assert query_param(info["verification_uri_complete"], "user_code") == info["user_code"], info
    assert info["interval"] >= 1 and info["expires_in"] > 60, info
    assert info["device_code"] != info["user_code"]

    # Nobody approved it yet: the client is told to wait.
    assert_pending(info)
    assert {t["id"] for t in tokens_of(server, user)} == before, "a token exists before the code was approved"

    name = unique_name("laptop")
    browser = signed_in(server.endpoint, user)
    approve(browser, info, "read", name)
    # The token is created when the client collects it, not before.
    assert {t["id"] for t in tokens_of(server, user)} == before

    answer = poll_device_token(info)
    access = answer["access_token"]
    assert access.startswith("hf_"), answer
    assert answer.get("refresh_token") and answer["refresh_token"] != access, answer
    assert answer.get("token_type", "bearer").lower() == "bearer"
    assert abs(int(answer["expires_in"]) - TOKEN_TTL.total_seconds()) < 120, answer

    who = HfApi(endpoint=server.endpoint, token=access).whoami()
    assert who["type"] == "user" and who["name"] == user.name, who
    assert who["auth"]["accessToken"]["role"] == "read", who["auth"]
    assert who["auth"]["accessToken"]["displayName"] == name, who["auth"]

    listed = token_named(server, user, name)
    assert listed["role"] == "read", listed
    assert listed["expiresAt"], f"the device-login token is listed without an expiry: {listed}"
    expected = datetime.now(timezone.utc) + TOKEN_TTL
    assert abs(parse_iso(listed["expiresAt"]) - expected) < timedelta(minutes=5), listed
    assert access[-4:] in listed["masked"], listed
    # It also shows in the person's token list on the web.
    page = browser.get("/settings/tokens")
    assert page.dom.find("tr", lambda n: n.get("data-token-name") == name) is not None, page.main_text

    # Read cannot create repos.
    assert status_of(lambda: HfApi(endpoint=server.endpoint, token=access).create_repo(user.new_repo_id("nope"))) == 403


def test_a_write_approved_device_login_can_create_a_repo(server, make_user):
    user = make_user("device-write")
    info = request_device_code()
    name = unique_name("trainer")
    approve(signed_in(server.endpoint, user), info, "write", name)
    access = poll_device_token(info)["access_token"]

    api = HfApi(endpoint=server.endpoint, token=access)
    assert api.whoami()["auth"]["accessToken"]["role"] == "write"
    repo = user.new_repo_id("from-device")
    api.create_repo(repo, private=True)
    api.upload_file(path_or_fileobj=b"hello\n", path_in_repo="hello.txt", repo_id=repo)
    assert "hello.txt" in user.read_api.list_repo_files(repo)
    assert token_named(server, user, name)["role"] == "write"


def test_a_device_code_is_collected_once(server, make_user):
    user = make_user("device-once")
    info = request_device_code()
    browser = signed_in(server.endpoint, user)
    name = unique_name("once")
    approve(browser, info, "read", name)
    first = poll_device_token(info)
    assert first["access_token"].startswith("hf_")

    with pytest.raises(DeviceCodeError) as exc:
        poll_device_token(info)
    assert exc.value.error_code == "invalid_grant", exc.value
    assert [t["name"] for t in tokens_of(server, user)].count(name) == 1, "collecting twice created a second token"

    # The used code cannot be approved again on /device either.
    page, form = approval_form(browser, info)
    again = browser.submit(form, {"role": "write", "name": unique_name("again")}, button="Authorize")
    assert again.status == 422, again.describe()
    assert again.field_error("user_code") is not None and "used" in again.field_error("user_code").text, again.main_text


def test_a_denied_device_code_fails_the_login(server, make_user):
    user = make_user("device-deny")
    before = tokens_of(server, user)
    info = request_device_code()
    deny(signed_in(server.endpoint, user), info)

    with pytest.raises(DeviceCodeError) as exc:
        poll_device_token(info)
    assert exc.value.error_code == "access_denied", exc.value
    assert "denied" in str(exc.value).lower()
    assert tokens_of(server, user) == before, "denying the login created a token"


def test_an_unknown_user_code_is_shown_again_with_an_error(server, make_user):
    user = make_user("device-typo")
    before = tokens_of(server, user)
    info = request_device_code()
    browser = signed_in(server.endpoint, user)
    page, form = approval_form(browser, info)

    alphabet = "BCDFGHJKLMNPQRSTVWXZ"
    wrong = "".join(secrets.choice(alphabet) for _ in range(4)) + "-" + "".join(secrets.choice(alphabet) for _ in range(4))
    assert wrong != info["user_code"]
    shown = browser.submit(form, {"user_code": wrong, "role": "write", "name": unique_name("typo")}, button="Authorize")
    assert shown.status == 422, shown.describe()
    error = shown.field_error("user_code")
    assert error is not None and "code" in error.text.lower(), shown.main_text
    assert shown.input_value("user_code") == wrong, "the form does not show what was typed"
    assert tokens_of(server, user) == before

    # The real code is still waiting and can still be approved.
    assert_pending(info)
    approve(browser, info, "read", unique_name("fixed"))
    assert poll_device_token(info)["access_token"].startswith("hf_")


def test_approving_without_the_csrf_field_is_refused(server, make_user):
    user = make_user("device-csrf")
    before = tokens_of(server, user)
    info = request_device_code()
    browser = signed_in(server.endpoint, user)
    page, form = approval_form(browser, info)

    refused = browser.submit(form, {"csrf": None, "role": "write", "name": unique_name("forged")}, button="Authorize")
    assert refused.status == 400, refused.describe()
    # A wrong value is refused as well (a form from another session, say).
    other = signed_in(server.endpoint, make_user("other"))
    other_csrf = other.get("/settings/tokens").csrf()
    refused = browser.submit(form, {"csrf": other_csrf, "role": "write"}, button="Authorize")
    assert refused.status == 400, refused.describe()

    assert_pending(info)
    assert tokens_of(server, user) == before


def test_approving_needs_a_session(server, make_user):
    info = request_device_code()
    anonymous = Browser(server.endpoint)
    landed = anonymous.get(info["verification_uri_complete"])
    assert urllib.parse.urlsplit(landed.url).path == "/login", landed.url
    assert query_param(landed.url, "next").startswith("/device?"), landed.url
    # Posting the form without being signed in does not approve anything.
    login_page = anonymous.get("/login")
    posted = anonymous.post(
        "/device",
        [("csrf", login_page.csrf()), ("user_code", info["user_code"]), ("name", "x"), ("role", "write"), ("decision", "approve")],
        follow=False,
    )
    assert posted.status == 303 and posted.resp.headers.get("location", "").startswith("/login"), posted.describe()
    answer = raw_device_poll(server.endpoint, info["device_code"])
    assert answer["status"] == 400 and answer["error"] == "authorization_pending", answer


# --- refresh ------------------------------------------------------------------------------------------------------


def test_refreshing_replaces_the_token_value_and_the_refresh_token(server, make_user):
    user = make_user("device-refresh")
    info = request_device_code()
    name = unique_name("refreshable")
    approve(signed_in(server.endpoint, user), info, "read", name)
    first = poll_device_token(info)
    old_access, old_refresh = first["access_token"], first["refresh_token"]
    created = token_named(server, user, name)

    second = refresh_access_token(old_refresh)
    new_access, new_refresh = second["access_token"], second.get("refresh_token")
    assert new_access.startswith("hf_") and new_access != old_access, second
    assert new_refresh and new_refresh != old_refresh, second
    assert abs(int(second["expires_in"]) - TOKEN_TTL.total_seconds()) < 120, second

    who = HfApi(endpoint=server.endpoint, token=new_access).whoami()
    assert who["name"] == user.name and who["auth"]["accessToken"]["displayName"] == name, who
    assert who["auth"]["accessToken"]["role"] == "read"
    # The same token got a new value: still one token of that name, still expiring.
    refreshed = token_named(server, user, name)
    assert refreshed["id"] == created["id"] and refreshed["expiresAt"], refreshed
    assert new_access[-4:] in refreshed["masked"], refreshed

    # The old value no longer works.
    assert status_of(lambda: HfApi(endpoint=server.endpoint, token=old_access).whoami()) == 401
    # The old refresh token worked once.
    with pytest.raises(DeviceCodeError) as exc:
        refresh_access_token(old_refresh)
    assert exc.value.error_code == "invalid_grant", exc.value
    # ... and trying it did not spoil the current pair.
    assert HfApi(endpoint=server.endpoint, token=new_access).whoami()["name"] == user.name

    # A revoked token cannot be refreshed.
    resp = account_of(server, user).revoke_token(created["id"])
    assert resp.status in (200, 204), resp.describe()
    assert status_of(lambda: HfApi(endpoint=server.endpoint, token=new_access).whoami()) == 401
    with pytest.raises(DeviceCodeError) as exc:
        refresh_access_token(new_refresh)
    assert exc.value.error_code == "invalid_grant", exc.value
    assert status_of(lambda: HfApi(endpoint=server.endpoint, token=new_access).whoami()) == 401


def test_an_unknown_refresh_token_is_an_invalid_grant(server):
    with pytest.raises(DeviceCodeError) as exc:
        refresh_access_token(secrets.token_urlsafe(32))
    assert exc.value.error_code == "invalid_grant", exc.value


# --- the command-line clients -------------------------------------------------------------------------------------


class Running:
    """A login command run in the background; what it prints (stdout and stderr, separately) is read as it comes."""

    def __init__(self, proc: subprocess.Popen):
        self.proc = proc
        self.out: list[str] = []
        self.err: list[str] = []
        self._cond = threading.Condition()
        self._readers = [
            threading.Thread(target=self._read, args=(proc.stdout, self.out), daemon=True),
            threading.Thread(target=self._read, args=(proc.stderr, self.err), daemon=True),
        ]
        for t in self._readers:
            t.start()

    def _read(self, stream, into: list[str]) -> None:
        for chunk in iter(lambda: stream.read(1), ""):
            with self._cond:
                into.append(chunk)
                self._cond.notify_all()

    @property
    def stdout(self) -> str:
        with self._cond:
            return "".join(self.out)

    @property
    def stderr(self) -> str:
        with self._cond:
            return "".join(self.err)

    def describe(self) -> str:
        return f"exit {self.proc.poll()}\n--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"

    def wait_for(self, pattern: re.Pattern, *, stream: str, timeout: float = 30) -> re.Match:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                text = "".join(self.err if stream == "stderr" else self.out)
                m = pattern.search(text)
                if m:
                    return m
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.proc.poll() is not None:
                    raise AssertionError(f"the command never printed {pattern.pattern!r} on {stream}:\n{self.describe()}")
                self._cond.wait(min(remaining, 0.5))

    def wait(self, timeout: float = 30) -> int:
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running after {timeout:.0f} s:\n{self.describe()}")
        for t in self._readers:
            t.join(timeout=5)
        return code

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def running():
    started: list[Running] = []

    def start(proc: subprocess.Popen) -> Running:
        r = Running(proc)
        started.append(r)
        return r

    yield start
    for r in started:
        r.stop()


URL_WITH_CODE = re.compile(r"(https?://\S+/device\?user_code=([A-Z]{4}-[A-Z]{4}))")


def test_hangar_auth_login_browser(server, make_user, tmp_path, running):
    user = make_user("cli-device")
    cli = Cli(server.endpoint, tmp_path)
    login = running(cli.popen("auth", "login", "--browser", "--endpoint", server.endpoint))

    m = login.wait_for(URL_WITH_CODE, stream="stderr")
    url, code = m.group(1), m.group(2)
    assert url.startswith(f"{server.endpoint}/device?"), url
    assert re.search(r"code:?\s*" + re.escape(code), login.stderr), login.describe()

    name = unique_name("hangar-cli")
    approve(signed_in(server.endpoint, user), {"verification_uri_complete": url, "user_code": code}, "write", name)
    assert login.wait() == 0, login.describe()

    who = cli("auth", "whoami")
    assert re.search(rf"^user: {re.escape(user.name)}$", who.out, re.M), who.describe()
    assert name in who.out, who.describe()

    saved = cli.token_file.read_text().strip()
    assert HfApi(endpoint=server.endpoint, token=saved).whoami()["auth"]["accessToken"]["displayName"] == name
    stored = configparser.ConfigParser(interpolation=None)
    stored.read(cli.stored_tokens)
    assert stored.has_section(name), f"{cli.stored_tokens} has no section {name!r}: {cli.stored_tokens.read_text()}"
    section = stored[name]
    assert section.get("hf_token") == saved
    assert section.get("refresh_token"), f"no refresh_token saved: {dict(section)}"
    expires_at = int(section.get("expires_at", "0"))
    assert abs(expires_at - (time.time() + TOKEN_TTL.total_seconds())) < 600, dict(section)
    # The saved refresh token is the live one: the official client can refresh with it.
    assert refresh_access_token(section["refresh_token"])["access_token"].startswith("hf_")


def test_hf_auth_login_through_the_device_flow(server, make_user, tmp_path, running):
    """The official `hf auth login`, without --token and with stdin not a TTY: it picks the browser login."""
    user = make_user("hf-device")
    home = tmp_path / "hf-home"
    env = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH")}
    env.update(HF_HOME=str(home), HF_ENDPOINT=server.endpoint, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [str(HF), "auth", "login"], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    login = running(proc)
    m = login.wait_for(URL_WITH_CODE, stream="stdout")
    url, code = m.group(1), m.group(2)
    assert url.startswith(f"{server.endpoint}/device?"), url

    name = unique_name("hf-cli")
    approve(signed_in(server.endpoint, user), {"verification_uri_complete": url, "user_code": code}, "read", name)
    assert login.wait(timeout=40) == 0, login.describe()

    whoami = subprocess.run(
        [str(HF), "auth", "whoami"], env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )
    assert whoami.returncode == 0, whoami.stdout + whoami.stderr
    assert user.name in whoami.stdout, whoami.stdout

    stored = configparser.ConfigParser(interpolation=None)
    stored.read(home / "stored_tokens")
    sections = [s for s in stored.sections() if stored[s].get("hf_token") == (home / "token").read_text().strip()]
    assert sections, f"the active token is not in stored_tokens: {(home / 'stored_tokens').read_text()}"
    assert stored[sections[0]].get("refresh_token"), dict(stored[sections[0]])
    assert stored[sections[0]].get("expires_at"), dict(stored[sections[0]])
    assert token_named(server, user, name)["role"] == "read"


# --- secrets stay out of the log -----------------------------------------------------------------------------------


@pytest.fixture
def verbose_server(tmp_path, monkeypatch):
    """A private server logging at the most verbose level, with the official client pointed at it."""
    monkeypatch.setenv("HANGAR_LOG", "trace")
    srv = HangarServer(hangar_bin(), tmp_path / "data", free_port(), database_url(), tmp_path / "server.log")
    monkeypatch.setattr(constants, "ENDPOINT", srv.endpoint)
    yield srv
    srv.stop()


def test_device_codes_and_tokens_stay_out_of_the_log(verbose_server):
    srv = verbose_server
    name = unique_name("quiet")
    password = f"pw-{name}-secret"
    srv.create_user(name, f"{name}@example.test", password)
    srv.start()

    info = request_device_code()
    assert info["verification_uri"].startswith(srv.endpoint), info
    assert_pending(info)
    browser = Browser(srv.endpoint)
    browser.log_in(name, password)
    approve(browser, info, "write", "quiet laptop")
    first = poll_device_token(info)
    second = refresh_access_token(first["refresh_token"])
    with pytest.raises(DeviceCodeError):
        refresh_access_token(first["refresh_token"])  # a failed grant must not log what it got either
    HfApi(endpoint=srv.endpoint, token=second["access_token"]).whoami()
    srv.stop()

    log = srv.log_path.read_text(errors="replace")
    assert "oauth" in log and len(log) > 1000, "the server logged almost nothing; the check would be vacuous"
    secrets_seen = {
        "device code": info["device_code"],
        "first access token": first["access_token"],
        "first refresh token": first["refresh_token"],
        "refreshed access token": second["access_token"],
        "second refresh token": second["refresh_token"],
    }
    for what, value in secrets_seen.items():
        assert value not in log, f"the {what} appears in the server log"
        assert value[4:20] not in log, f"a fragment of the {what} appears in the server log"
