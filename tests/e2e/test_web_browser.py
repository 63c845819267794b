"""The web UI in a real browser (docs/WEB.md): headless Chromium runs the flows a person goes through, end to end,
and the official client checks that what the pages did is real.

* sign up → mail → verify → create a read token → use it with huggingface_hub → revoke it → the client gets 401;
* a fine-grained token for one repo, picked with the repo search;
* a gated repo: a request and its approval (and a rejection with its reason) between two users;
* device login: `hf auth login` without a token, authorized (or denied) in the browser;
* a walk through the main pages, saving a screenshot of each (browser_helpers.shot).

Run: HANGAR_BIN=target/debug/hangar .venv/bin/python -m pytest tests/e2e/test_web_browser.py
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import GatedRepoError, HfHubHTTPError
from playwright.sync_api import expect

from access_helpers import (
    account_of,
    http_error,
    new_fine_grained_token,
    new_org,
    query_param,
    request,
    set_member,
)
from browser_helpers import choose, click_through, form_with, log_in, path_of, pick, shot, submit
from cli_helpers import HF
from hangar_e2e import unique_name

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery-staple"
# docs/WEB.md names no label for the submit button of the token form (which also holds "Find repos").
CREATE_TOKEN = re.compile(r"^\s*(create|generate)\b.*token", re.I)

CARD = """---
license: apache-2.0
language: en
tags:
- text-classification
- tiny
---
# Tiny sentiment classifier

A **small** model used to show how Hangar renders a model card: Markdown with `code`, tables and lists.

| split | accuracy |
|-------|----------|
| test  | 0.91     |

- trained on toy data
- 12 kB of weights

```python
from huggingface_hub import hf_hub_download
path = hf_hub_download("REPO_ID", "config.json")
```
"""

GATED_PROMPT = "Tell us who you are to download these weights."
GATED_CARD = f"""---
license: mit
extra_gated_prompt: "{GATED_PROMPT}"
extra_gated_fields:
  Company: text
  I agree to use these weights for research only: checkbox
---
# Gated weights
"""
AGREE = "I agree to use these weights for research only"
GATED_PAYLOAD = b"gated weights\n"


# --- setup through the official client ------------------------------------------------------------------------


def _public_repo(owner, prefix: str = "public") -> str:
    repo_id = owner.new_repo_id(prefix)
    owner.api.create_repo(repo_id)
    owner.api.upload_file(path_or_fileobj=f"{repo_id}\n".encode(), path_in_repo="weights.txt", repo_id=repo_id)
    return repo_id


def _private_repo(owner, prefix: str) -> str:
    repo_id = owner.new_repo_id(prefix)
    owner.api.create_repo(repo_id, private=True)
    owner.api.upload_file(path_or_fileobj=f"{repo_id}\n".encode(), path_in_repo="weights.txt", repo_id=repo_id)
    return repo_id


def _gated_repo(owner, mode: str | None = None) -> str:
    """A model whose README asks for a company and an agreement; gated with `mode` through the client, if given."""
    repo_id = owner.new_repo_id("gated")
    owner.api.create_repo(repo_id)
    owner.api.upload_file(path_or_fileobj=GATED_CARD.encode(), path_in_repo="README.md", repo_id=repo_id)
    owner.api.upload_file(path_or_fileobj=GATED_PAYLOAD, path_in_repo="weights.bin", repo_id=repo_id)
    if mode:
        owner.api.update_repo_settings(repo_id, gated=mode)
    return repo_id


def _read(path) -> bytes:
    with open(path, "rb") as f:
        return f.read()


_fresh = iter(range(10**9))


def _download(api: HfApi, repo_id: str, filename: str, tmp_path: Path) -> bytes:
    """hf_hub_download into an empty cache (a cached copy would hide a refusal)."""
    return _read(api.hf_hub_download(repo_id, filename, cache_dir=tmp_path / f"cache-{next(_fresh)}"))


# --- what a person does in the browser ------------------------------------------------------------------------


def _main(page):
    return page.locator("main")


def _create_token_button(page):
    return page.get_by_role("button", name=CREATE_TOKEN)


def _read_new_token(page) -> str:
    """On the "Token created" page: the secret in the read-only #new-token box, the Copy button, the warning."""
    expect(page.get_by_role("heading", name="Token created")).to_be_visible()
    box = page.locator("#new-token")
    expect(box).to_be_visible()
    expect(box).not_to_be_editable()
    secret = box.input_value()
    assert secret.startswith("hf_") and len(secret) > 20, f"#new-token holds {secret!r}"
    expect(page.get_by_role("button", name="Copy")).to_be_visible()
    expect(_main(page)).to_contain_text(re.compile(r"shown again", re.I))
    return secret


def _expect_code_shown(page, code: str) -> None:
    """The device page shows the code the program printed: as text, or in the (pre-filled) Code box."""
    box = page.get_by_label("Code", exact=True)
    if box.count():
        expect(box).to_have_value(code)
    else:
        expect(_main(page)).to_contain_text(code)


def _token_row(page, name: str):
    return page.locator(f'#tokens tr[data-token-name="{name}"]')


def _request_item(page, username: str):
    """The entry of `username` in the access-request queue (a table row or a list item)."""
    return page.locator("tr, li").filter(has_text=username).last


# --- a. sign-up, verification, a read token used and revoked ----------------------------------------------------


def test_sign_up_verify_then_create_use_and_revoke_a_read_token(page, server, mailbox, make_user, tmp_path):
    publisher = make_user("publisher")
    public = _public_repo(publisher)
    name = unique_name("joiner")
    address = f"{name}@example.test"

    page.goto("/join")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Email").fill(address)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Full name").fill("Joan Joiner")
    submit(page, "username")
    page.wait_for_url(re.compile(r"/settings/account$"))
    expect(_main(page)).to_contain_text(address)

    # Before the address is verified, "New token" is a disabled button with the reason beside it.
    click_through(page, page.get_by_role("link", name="Access Tokens"))
    assert path_of(page) == "/settings/tokens"
    expect(page.get_by_role("button", name="New token")).to_be_disabled()
    expect(page.get_by_role("link", name="New token")).to_have_count(0)
    resend = page.get_by_role("button", name="Resend verification email")
    expect(resend).to_be_visible()
    reason = _main(page).inner_text().replace(resend.inner_text(), "")
    assert re.search(r"verif", reason, re.I), f"no reason about verification beside the disabled button:\n{reason}"

    link = mailbox.wait_for(address, text="/email/verify?code=").link
    assert link.startswith(f"{server.endpoint}/email/verify?code="), link
    page.goto(link)
    expect(page.get_by_role("heading", name="Email verified")).to_be_visible()
    click_through(page, page.get_by_role("link", name="Create your first access token"))

    token_name = "laptop-read"
    page.get_by_label("Token name").fill(token_name)
    pick(page, "role", "read", re.compile(r"^Read\b"))
    click_through(page, _create_token_button(page))
    secret = _read_new_token(page)
    # The Copy button (hangar.js) puts the secret on the clipboard.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.endpoint)
    page.get_by_role("button", name="Copy").click()
    deadline = time.monotonic() + 5
    while (copied := page.evaluate("navigator.clipboard.readText()")) != secret and time.monotonic() < deadline:
        page.wait_for_timeout(50)  # the copy is asynchronous in the page
    assert copied == secret, f"the clipboard holds {copied!r} after Copy"

    api = HfApi(endpoint=server.endpoint, token=secret)
    me = api.whoami()
    assert me["name"] == name
    assert me["auth"]["accessToken"]["role"] == "read"
    assert _download(api, public, "weights.txt", tmp_path) == f"{public}\n".encode()

    # The list shows the token, masked: its last characters, never the secret.
    page.goto("/settings/tokens")
    row = _token_row(page, token_name)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(secret[-4:])
    expect(row.get_by_role("cell", name="Read", exact=True)).to_have_count(1)
    expect(row.get_by_role("cell", name="active", exact=True)).to_have_count(1)
    assert secret not in page.content(), "the token list shows the secret"

    # Revoke asks for confirmation first; the confirmation page alone changes nothing.
    click_through(
        page, row.get_by_role("link", name="Revoke", exact=True).or_(row.get_by_role("button", name="Revoke", exact=True))
    )
    assert re.fullmatch(r"/settings/tokens/[^/?]+/revoke", path_of(page)), page.url
    expect(_main(page)).to_contain_text(token_name)
    assert api.whoami()["name"] == name, "opening the confirmation page revoked the token"
    click_through(page, page.get_by_role("button", name="Revoke this token"))
    page.goto("/settings/tokens")
    row = _token_row(page, token_name)
    if row.count():
        expect(row).to_contain_text(re.compile(r"revoked", re.I))

    with pytest.raises(HfHubHTTPError) as exc:
        api.whoami()
    assert exc.value.response.status_code == 401, str(exc.value)
    with pytest.raises(Exception) as exc:  # noqa: B017 - hf_hub_download may wrap the HTTP error
        _download(api, public, "weights.txt", tmp_path)
    assert http_error(exc.value).response.status_code == 401, str(exc.value)


def test_token_creation_and_revocation_work_without_javascript(new_page, server, make_user):
    """docs/WEB.md: hangar.js only adds the copy button and confirmations; every flow works without it."""
    user = make_user("nojs")
    page = new_page(javascript=False)
    log_in(page, user)
    page.goto("/settings/tokens")
    click_through(page, page.get_by_role("link", name="New token"))
    page.get_by_label("Token name").fill("no-script")
    pick(page, "role", "write", re.compile(r"^Write\b"))
    click_through(page, _create_token_button(page))
    secret = page.locator("#new-token").input_value()
    api = HfApi(endpoint=server.endpoint, token=secret)
    assert api.whoami()["auth"]["accessToken"]["role"] == "write"

    page.goto("/settings/tokens")
    row = _token_row(page, "no-script")
    click_through(
        page, row.get_by_role("link", name="Revoke", exact=True).or_(row.get_by_role("button", name="Revoke", exact=True))
    )
    click_through(page, page.get_by_role("button", name="Revoke this token"))
    with pytest.raises(HfHubHTTPError) as exc:
        api.whoami()
    assert exc.value.response.status_code == 401


# --- b. a fine-grained token for one repo ------------------------------------------------------------------------


def test_fine_grained_token_for_one_repo_picked_with_the_search(page, server, make_user, tmp_path):
    owner = make_user("picker")
    target = _private_repo(owner, "scoped")
    other = _private_repo(owner, "unscoped")
    log_in(page, owner)

    page.goto("/settings/tokens/new")
    page.get_by_label("Token name").fill("one-model")
    pick(page, "role", "fineGrained", re.compile(r"^Fine-grained\b"))
    page.locator('[name="repo_search"]').fill(target.split("/", 1)[1])
    page.get_by_role("button", name="Find repos").click()
    permission = page.locator(f'input[name="perm"][value="model:{target}|repo.content.read"]')
    expect(permission).to_be_visible()
    expect(permission).to_have_accessible_name(re.compile(r"\S"))
    expect(page.locator(f'input[name="perm"][value^="model:{other}|"]')).to_have_count(0)
    # What was typed and chosen before the search is still there.
    expect(page.get_by_label("Token name")).to_have_value("one-model")
    expect(page.locator('input[name="role"][value="fineGrained"]')).to_be_checked()
    permission.check()
    click_through(page, _create_token_button(page))
    secret = _read_new_token(page)

    api = HfApi(endpoint=server.endpoint, token=secret)
    who = api.whoami()
    assert who["name"] == owner.name
    access = who["auth"]["accessToken"]
    assert access["role"] == "fineGrained", access
    scoped = [(s["entity"]["type"], s["entity"]["name"], sorted(s["permissions"])) for s in access["fineGrained"]["scoped"]]
    assert scoped == [("model", target, ["repo.content.read"])], access["fineGrained"]

    assert _download(api, target, "weights.txt", tmp_path) == f"{target}\n".encode()
    with pytest.raises(Exception) as exc:  # noqa: B017 - hf_hub_download wraps a plain 403
        _download(api, other, "weights.txt", tmp_path)
    assert http_error(exc.value).response.status_code == 403, str(exc.value)


# --- c. a gated repo: request, acceptance, rejection --------------------------------------------------------------


def test_gated_request_accepted_and_another_rejected_with_its_reason(new_page, server, make_user, tmp_path):
    owner = make_user("gatekeeper")
    asker = make_user("asker")
    refused = make_user("refused")
    repo = _gated_repo(owner)

    owner_page = new_page()
    log_in(owner_page, owner)
    owner_page.goto(f"/{repo}/settings")
    choose(form_with(owner_page, "gated"), "gated", "manual")
    submit(owner_page, "gated")
    assert owner.api.model_info(repo).gated == "manual", "the settings page did not turn manual gating on"

    # The requester sees the prompt and the form built from extra_gated_fields.
    asker_page = new_page()
    log_in(asker_page, asker)
    asker_page.goto(f"/{repo}")
    asker_page.get_by_label("Company").fill("Acme Research")
    asker_page.get_by_label(AGREE).check()
    click_through(asker_page, asker_page.get_by_role("button", name="Request access"))
    assert path_of(asker_page) == f"/{repo}", asker_page.url
    expect(_main(asker_page)).to_contain_text(re.compile(r"pending", re.I))
    expect(asker_page.get_by_role("button", name="Request access")).to_have_count(0)
    with pytest.raises(GatedRepoError) as exc:
        _download(asker.read_api, repo, "weights.bin", tmp_path)
    assert exc.value.response.status_code == 403

    # The owner's queue shows the request and its answers; the owner accepts.
    owner_page.goto(f"/{repo}/settings/access-requests")
    item = _request_item(owner_page, asker.name)
    expect(item).to_be_visible()
    expect(item).to_contain_text("Acme Research")
    expect(_main(owner_page)).to_contain_text(re.compile(r"pending\D{0,40}1|1\D{0,40}pending", re.I))
    click_through(owner_page, item.get_by_role("button", name="Accept"))
    assert _download(asker.read_api, repo, "weights.bin", tmp_path) == GATED_PAYLOAD
    asker_page.reload()
    expect(_main(asker_page)).to_contain_text(re.compile(r"accepted", re.I))
    expect(asker_page.get_by_role("button", name="Request access")).to_have_count(0)

    # Another user asks, and is rejected with a reason they are shown.
    reason = "Research institutions only, sorry."
    refused_page = new_page()
    log_in(refused_page, refused)
    refused_page.goto(f"/{repo}")
    refused_page.get_by_label("Company").fill("Resale Ltd")
    refused_page.get_by_label(AGREE).check()
    click_through(refused_page, refused_page.get_by_role("button", name="Request access"))
    expect(_main(refused_page)).to_contain_text(re.compile(r"pending", re.I))

    owner_page.goto(f"/{repo}/settings/access-requests")
    item = _request_item(owner_page, refused.name)
    item.locator('[name="reason"]').fill(reason)
    click_through(owner_page, item.get_by_role("button", name="Reject"))
    owner_page.goto(f"/{repo}/settings/access-requests")
    expect(_main(owner_page)).to_contain_text(re.compile(r"accepted\D{0,40}1|1\D{0,40}accepted", re.I))
    expect(_main(owner_page)).to_contain_text(re.compile(r"rejected\D{0,40}1|1\D{0,40}rejected", re.I))

    refused_page.reload()
    expect(_main(refused_page)).to_contain_text(re.compile(r"rejected", re.I))
    expect(_main(refused_page)).to_contain_text(reason)
    expect(refused_page.get_by_role("button", name="Request access")).to_have_count(0)
    with pytest.raises(GatedRepoError) as exc:
        _download(refused.read_api, repo, "weights.bin", tmp_path)
    assert exc.value.response.status_code == 403

    # docs/ACCESS.md: the request form comes from extra_gated_prompt and extra_gated_fields.
    page = new_page()
    log_in(page, make_user("newcomer"))
    page.goto(f"/{repo}")
    expect(page.get_by_role("button", name="Request access")).to_be_visible()
    expect(_main(page)).to_contain_text(GATED_PROMPT)


# --- d. device login with `hf auth login` --------------------------------------------------------------------------

_USER_CODE = re.compile(r"\b([A-Z0-9]{4}-[A-Z0-9]{4})\b")


class HfLogin:
    """`hf auth login` without a token, as a subprocess whose stdin is not a TTY (so it picks the browser flow),
    with a private HF_HOME. Its output is read as it comes."""

    def __init__(self, home: Path, endpoint: str):
        self.home = home
        env = dict(os.environ, HF_HOME=str(home), HF_ENDPOINT=endpoint, PYTHONUNBUFFERED="1")
        for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH"):
            env.pop(name, None)
        self.proc = subprocess.Popen(
            [str(HF), "auth", "login"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._out: list[str] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for chunk in iter(lambda: self.proc.stdout.read(1), ""):
            with self._cond:
                self._out.append(chunk)
                self._cond.notify_all()

    @property
    def output(self) -> str:
        with self._cond:
            return "".join(self._out)

    def wait_for_instructions(self, timeout: float = 30) -> tuple[str, str]:
        """The URL (verification_uri_complete) and the user code the command prints."""
        deadline = time.monotonic() + timeout
        url_re = re.compile(r"(https?://\S+/device\?\S*user_code=[^\s.]+)")
        with self._cond:
            while True:
                text = "".join(self._out)
                url, code = url_re.search(text), re.search(r"code:?\s+" + _USER_CODE.pattern, text)
                if url and code:
                    return url.group(1), code.group(1)
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.proc.poll() is not None:
                    raise AssertionError(f"`hf auth login` printed no URL and code (exit {self.proc.poll()}):\n{text}")
                self._cond.wait(min(remaining, 0.5))

    def wait(self, timeout: float = 30) -> int:
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"`hf auth login` still running after {timeout:.0f} s:\n{self.output}")
        self._reader.join(timeout=5)
        return code

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def hf_login(tmp_path, server):
    started: list[HfLogin] = []

    def start(name: str = "cli-home") -> HfLogin:
        login = HfLogin(tmp_path / name, server.endpoint)
        started.append(login)
        return login

    yield start
    for login in started:
        login.stop()


def _hf(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, HF_HOME=str(home))
    env.pop("HF_TOKEN", None)
    return subprocess.run([str(HF), *args], env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_device_login_with_hf_auth_login(page, server, make_user, hf_login):
    user = make_user("device")
    tokens_before = {t["id"] for t in account_of(server, user).list_tokens()}
    login = hf_login()
    url, code = login.wait_for_instructions()
    assert url.startswith(f"{server.endpoint}/device?"), url
    assert query_param(url, "user_code") == code

    # Not signed in yet: the page sends the person to log in, then back to the code.
    page.goto(url)
    page.wait_for_url(re.compile(r"/login\?"))
    assert urllib.parse.urlsplit(query_param(page.url, "next")).path == "/device"
    page.get_by_label("Username or email").fill(user.name)
    page.get_by_label("Password", exact=True).fill(user.password)
    submit(page, "password")
    page.wait_for_url(re.compile(r"/device\?"))
    assert query_param(page.url, "user_code") == code
    _expect_code_shown(page, code)

    choose(form_with(page, "role"), "role", "read")
    click_through(page, page.get_by_role("button", name="Authorize"))
    assert login.wait() == 0, login.output

    whoami = _hf(login.home, "auth", "whoami")
    assert whoami.returncode == 0, whoami.stdout + whoami.stderr
    assert user.name in whoami.stdout, whoami.stdout

    saved = (login.home / "token").read_text().strip()
    access = HfApi(endpoint=server.endpoint, token=saved).whoami()["auth"]["accessToken"]
    assert access["role"] == "read", access
    created = [t for t in account_of(server, user).list_tokens() if t["id"] not in tokens_before]
    assert [t["role"] for t in created] == ["read"], created
    page.goto("/settings/tokens")
    expect(_token_row(page, created[0]["name"])).to_have_count(1)


def test_a_denied_device_code_makes_hf_auth_login_fail(page, server, make_user, hf_login):
    user = make_user("denier")
    tokens_before = account_of(server, user).list_tokens()
    log_in(page, user)
    login = hf_login()
    url, code = login.wait_for_instructions()
    page.goto(url)
    _expect_code_shown(page, code)
    click_through(page, page.get_by_role("button", name="Deny"))

    assert login.wait() != 0, f"`hf auth login` succeeded after the code was denied:\n{login.output}"
    assert re.search(r"denied", login.output, re.I), login.output
    assert not (login.home / "token").exists(), "a token was saved although the code was denied"
    assert account_of(server, user).list_tokens() == tokens_before, "denying created a token"


# --- organizations and site administration --------------------------------------------------------------------


def _members(server, admin, org: str) -> dict[str, str]:
    resp = request("GET", f"{server.endpoint}/api/organizations/{org}/members", token=admin.read_token)
    assert resp.status == 200, resp.describe()
    return {m["user"]: m.get("role") for m in resp.json()}


def test_an_invitation_to_an_organization_is_accepted_or_declined(new_page, server, make_user):
    admin = make_user("orgadmin")
    joiner = make_user("joiner")
    decliner = make_user("decliner")
    org = new_org(server, admin, unique_name("crew"))

    admin_page = new_page()
    log_in(admin_page, admin)
    admin_page.goto(f"/organizations/{org}/settings/members")
    for user in (joiner, decliner):
        form = admin_page.locator("form").filter(has=admin_page.get_by_role("button", name="Invite"))
        form.locator('[name="user"]').fill(user.name)
        choose(form, "role", "write")
        click_through(admin_page, form.get_by_role("button", name="Invite"))
        expect(_main(admin_page)).to_contain_text(user.name)
    assert set(_members(server, admin, org)) == {admin.name}, "an invitation made a member before it was accepted"

    for user, answer in ((joiner, "Accept"), (decliner, "Decline")):
        page = new_page()
        log_in(page, user)
        page.goto("/settings/organizations")
        invitation = page.locator("tr, li").filter(has_text=org).filter(has=page.get_by_role("button", name=answer))
        expect(invitation).to_have_count(1)
        expect(invitation).to_contain_text("write")
        click_through(page, invitation.get_by_role("button", name=answer))
    assert _members(server, admin, org) == {admin.name: "admin", joiner.name: "write"}


def test_an_org_admin_sets_approval_and_decides_tokens_in_the_queue(page, server, make_user, tmp_path):
    admin = make_user("orgadmin")
    member = make_user("member")
    org = new_org(server, admin, unique_name("vault"))
    set_member(server, admin, org, member, "read")
    repo = f"{org}/{unique_name('weights')}"
    admin.api.create_repo(repo, private=True)
    admin.api.upload_file(path_or_fileobj=b"org weights\n", path_in_repo="weights.txt", repo_id=repo)

    log_in(page, admin)
    page.goto(f"/organizations/{org}/settings/tokens")
    choose(form_with(page, "policy"), "policy", "admin_approval")
    submit(page, "policy")
    policy = account_of(server, admin).get(f"/api/organizations/{org}/settings/token-policy")
    assert policy.json()["policy"] == "admin_approval", policy.describe()

    approved = new_fine_grained_token(server, member, ("org", org, ["repo.content.read"]))
    denied = new_fine_grained_token(server, member, ("org", org, ["repo.content.read"]))
    for t in (approved, denied):
        with pytest.raises(Exception) as exc:  # noqa: B017 - hf_hub_download wraps a plain 403
            _download(HfApi(endpoint=server.endpoint, token=t["token"]), repo, "weights.txt", tmp_path)
        assert http_error(exc.value).response.status_code == 403, str(exc.value)

    page.goto(f"/organizations/{org}/settings/tokens")
    for t, button in ((approved, "Approve"), (denied, "Deny")):
        entry = page.locator("tr, li").filter(has_text=t["name"])
        expect(entry).to_have_count(1)
        click_through(page, entry.get_by_role("button", name=button))
    api = HfApi(endpoint=server.endpoint, token=approved["token"])
    assert _download(api, repo, "weights.txt", tmp_path) == b"org weights\n"
    with pytest.raises(Exception) as exc:  # noqa: B017
        _download(HfApi(endpoint=server.endpoint, token=denied["token"]), repo, "weights.txt", tmp_path)
    assert http_error(exc.value).response.status_code == 403, str(exc.value)


def test_a_site_admin_disables_and_enables_a_user(new_page, server, make_user):
    root = make_user("root", site_admin=True)
    user = make_user("disabled")
    api = HfApi(endpoint=server.endpoint, token=user.read_token)
    assert api.whoami()["name"] == user.name

    user_page = new_page()
    log_in(user_page, user)
    admin_page = new_page()
    log_in(admin_page, root)
    admin_page.goto("/admin/users?q=" + urllib.parse.quote(user.name))
    row = admin_page.locator("tr, li").filter(has_text=user.name).filter(has=admin_page.get_by_role("button", name="Disable"))
    expect(row).to_have_count(1)
    click_through(admin_page, row.get_by_role("button", name="Disable"))

    with pytest.raises(HfHubHTTPError) as exc:
        api.whoami()
    assert exc.value.response.status_code == 401
    user_page.goto("/settings/tokens")
    assert urllib.parse.urlsplit(user_page.url).path == "/login", "a disabled user's session still opens pages"

    admin_page.goto("/admin/users?q=" + urllib.parse.quote(user.name))
    row = admin_page.locator("tr, li").filter(has_text=user.name).filter(has=admin_page.get_by_role("button", name="Enable"))
    expect(row).to_have_count(1)
    click_through(admin_page, row.get_by_role("button", name="Enable"))
    assert api.whoami()["name"] == user.name, "the token does not work again once the account is enabled"


# --- e. the main pages, each captured ----------------------------------------------------------------------------

HEADINGS = {
    "join": re.compile(r"sign up|join|create (an |your )?account", re.I),
    "login": re.compile(r"log ?in|sign ?in", re.I),
    "tokens": re.compile(r"access tokens", re.I),
    "new-token": re.compile(r"(new|create).*token", re.I),
    "access-requests": re.compile(r"access requests", re.I),
    "members": re.compile(r"members", re.I),
    "org-tokens": re.compile(r"tokens", re.I),
    "device": re.compile(r"device|authori[sz]e|connect", re.I),
    "admin-users": re.compile(r"users|administration", re.I),
}


def _visit(page, path: str, heading: re.Pattern | str, name: str) -> None:
    """Opens `path`, checks it answers 200 with a heading matching `heading`, and saves the screenshot `name`."""
    response = page.goto(path)
    assert response is not None and response.status == 200, f"GET {path}: {response.status if response else None}"
    expect(page.get_by_role("heading", name=heading).first).to_be_visible()
    shot(page, name)


def test_main_pages_render_and_are_captured(new_page, server, make_user):
    admin = make_user("admin", site_admin=True)
    visitor = make_user("visitor")

    # A model with a card, a few files and two commits.
    model = admin.new_repo_id("tiny-classifier")
    admin.api.create_repo(model)
    admin.api.upload_file(
        path_or_fileobj=CARD.replace("REPO_ID", model).encode(), path_in_repo="README.md", repo_id=model,
        commit_message="Add the model card",
    )
    admin.api.upload_file(
        path_or_fileobj=b'{"architectures": ["TinyClassifier"], "hidden_size": 64}\n', path_in_repo="config.json",
        repo_id=model, commit_message="Add config.json",
    )
    gated = _gated_repo(admin, "manual")
    org = new_org(server, admin, unique_name("acme"))
    set_member(server, admin, org, visitor, "write")
    admin_account = account_of(server, admin)
    org_token = admin_account.create_org_token(org, "nightly-sync", "read")
    assert org_token.status == 201, org_token.describe()
    assert admin_account.set_token_policy(org, "admin_approval").status == 200
    awaiting = new_fine_grained_token(server, visitor, ("org", org, ["repo.content.read"]))["name"]

    page = new_page()
    _visit(page, "/", re.compile(r"\S"), "home")
    _visit(page, "/join", HEADINGS["join"], "join")
    _visit(page, "/login", HEADINGS["login"], "login")

    log_in(page, admin)
    _visit(page, "/settings/tokens/new", HEADINGS["new-token"], "token-new")
    page.get_by_label("Token name").fill("ci-publish")
    pick(page, "role", "write", re.compile(r"^Write\b"))
    click_through(page, _create_token_button(page))
    _read_new_token(page)
    shot(page, "token-created")
    _visit(page, "/settings/tokens", HEADINGS["tokens"], "tokens")
    expect(_token_row(page, "ci-publish")).to_have_count(1)

    _visit(page, "/settings/tokens/new", HEADINGS["new-token"], "token-new-fine-grained")
    page.get_by_label("Token name").fill("inference-one-model")
    pick(page, "role", "fineGrained", re.compile(r"^Fine-grained\b"))
    page.locator('[name="repo_search"]').fill(model.split("/", 1)[1])
    page.get_by_role("button", name="Find repos").click()
    page.locator(f'input[name="perm"][value="model:{model}|repo.content.read"]').check()
    shot(page, "token-new-fine-grained")

    repo_name = re.compile(re.escape(model.split("/", 1)[1]))
    _visit(page, f"/{model}", repo_name, "repo-card")
    card = _main(page)
    expect(card.get_by_role("heading", name="Tiny sentiment classifier")).to_be_visible()
    expect(card.locator("table")).to_contain_text("accuracy")
    expect(card.locator("strong").filter(has_text="small")).to_have_count(1)
    expect(card).to_contain_text("apache-2.0")
    expect(card).to_contain_text("text-classification")
    expect(card).to_contain_text(re.compile(r"Use this model", re.I))
    expect(card).to_contain_text(server.endpoint)

    _visit(page, f"/{model}/tree/main", repo_name, "repo-files")
    config_row = _main(page).get_by_role("row").filter(has_text="config.json")
    expect(config_row).to_have_count(1)
    expect(config_row.get_by_role("cell", name=re.compile(r"^\d+(\.\d)? ?(B|kB)$"))).to_have_count(1)
    expect(config_row.locator(f'a[href="/{model}/resolve/main/config.json"]')).to_have_count(1)

    _visit(page, f"/{model}/commits/main", repo_name, "repo-commits")
    expect(_main(page)).to_contain_text("Add the model card")
    expect(_main(page)).to_contain_text("Add config.json")

    # The visitor sees the gated repo's request form, asks, and the owner's queue shows the request.
    visitor_page = new_page()
    log_in(visitor_page, visitor)
    _visit(visitor_page, f"/{gated}", re.compile(re.escape(gated.split("/", 1)[1])), "gated-request-form")
    expect(visitor_page.get_by_role("button", name="Request access")).to_be_visible()
    visitor_page.get_by_label("Company").fill("Acme Research")
    visitor_page.get_by_label(AGREE).check()
    click_through(visitor_page, visitor_page.get_by_role("button", name="Request access"))
    expect(_main(visitor_page)).to_contain_text(re.compile(r"pending", re.I))

    _visit(page, f"/{gated}/settings/access-requests", HEADINGS["access-requests"], "access-requests")
    expect(_request_item(page, visitor.name)).to_be_visible()

    _visit(page, f"/organizations/{org}/settings/members", HEADINGS["members"], "org-members")
    expect(_main(page)).to_contain_text(visitor.name)
    expect(page.get_by_role("button", name="Invite")).to_be_visible()
    _visit(page, f"/organizations/{org}/settings/tokens", HEADINGS["org-tokens"], "org-tokens")
    expect(page.locator('input[name="policy"][value="admin_approval"], select[name="policy"]').first).to_be_attached()
    policy = page.locator('[name="policy"]')
    if policy.first.evaluate("el => el.tagName") == "SELECT":
        expect(policy).to_have_value("admin_approval")
    else:
        expect(page.locator('input[name="policy"][value="admin_approval"]')).to_be_checked()
    expect(_main(page)).to_contain_text("nightly-sync")
    queued = page.locator("tr, li").filter(has_text=awaiting)
    expect(queued).to_have_count(1)
    expect(queued).to_contain_text(visitor.name)
    expect(queued.get_by_role("button", name="Approve")).to_be_visible()
    expect(queued.get_by_role("button", name="Deny")).to_be_visible()

    from huggingface_hub import constants

    device = request("POST", f"{server.endpoint}/oauth/device", form={"client_id": constants.DEVICE_CODE_OAUTH_CLIENT_ID})
    assert device.status == 200, device.describe()
    user_code = device.json()["user_code"]
    _visit(page, f"/device?user_code={urllib.parse.quote(user_code)}", HEADINGS["device"], "device")
    _expect_code_shown(page, user_code)
    expect(page.get_by_role("button", name="Authorize")).to_be_visible()
    expect(page.get_by_role("button", name="Deny")).to_be_visible()

    # The session server holds hundreds of users by now: an admin finds one by searching.
    _visit(page, "/admin/users?q=" + urllib.parse.quote(visitor.name), HEADINGS["admin-users"], "admin-users")
    expect(_main(page)).to_contain_text(visitor.name)
