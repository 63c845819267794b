"""The web UI's forms and pages over plain HTTP (docs/WEB.md), without a browser: invalid or missing input is answered
with a 4xx and the form again (what was typed kept, passwords excepted), never a 500; a POST without the right `csrf`
is refused and changes nothing; pages that need a session send to /login?next=...; the session cookie is HttpOnly and
SameSite; nothing is loaded from another host; the model card is sanitised; a private repo's pages answer a stranger
exactly like a missing repo's.

Forms are taken from the pages themselves (web_helpers.Page.form) and submitted with the values under test."""

from __future__ import annotations

import re
import urllib.parse

import pytest

from access_helpers import account_of, new_org, query_param, request, set_member
from hangar_e2e import unique_name
from web_helpers import (
    ANON_CSRF_COOKIE,
    SESSION_COOKIE,
    Page,
    WebClient,
    cookie_attributes,
    foreign_references,
    location,
    unlabelled_controls,
)

PASSWORD = "correct-horse-battery-staple"
FORGED_CSRF = "forged-csrf-value-0123456789abcdef"

GATED_CARD = """---
license: mit
extra_gated_prompt: "Tell us who you are."
extra_gated_fields:
  Company: text
  I agree to the terms: checkbox
---
# Gated
"""


# --- helpers ---------------------------------------------------------------------------------------------------


def web(server, user) -> WebClient:
    return WebClient.signed_in(server.endpoint, user.name, user.password)


def assert_4xx(page: Page, status: int | None = None) -> None:
    """A refusal a person can act on: the given status (else any 4xx), never a server error."""
    assert page.status < 500, f"server error: {page.describe()}"
    if status is not None:
        assert page.status == status, page.describe()
    else:
        assert 400 <= page.status < 500, page.describe()


def assert_invalid_form(page: Page, field: str) -> None:
    """docs/WEB.md: the form again, answered 422, with `<p class="field-error" id="<field>-error">` next to the field."""
    assert_4xx(page, 422)
    assert page.field_error(field) is not None, (
        f"no <p class=\"field-error\" id=\"{field}-error\"> on the re-rendered form of {page.url}:\n{page.main_text[:1500]}"
    )


def assert_csrf_refused(page: Page) -> None:
    assert_4xx(page, 400)


def token_names(server, user) -> set[str]:
    return {t["name"] for t in account_of(server, user).list_tokens()}


def repo_exists(server, repo_id: str, token: str) -> bool:
    resp = request("GET", f"{server.endpoint}/api/models/{urllib.parse.quote(repo_id, safe='/')}", token=token)
    assert resp.status in (200, 400, 404), resp.describe()
    return resp.status == 200


def org_exists(server, org: str) -> bool:
    resp = request("GET", f"{server.endpoint}/api/organizations/{urllib.parse.quote(org, safe='')}/members")
    assert resp.status in (200, 400, 404), resp.describe()
    return resp.status == 200


def pending_requests(server, owner, repo_id: str) -> list:
    resp = request("GET", f"{server.endpoint}/api/models/{repo_id}/user-access-request/pending", token=owner.write_token)
    assert resp.status == 200, resp.describe()
    return resp.json()


def token_works(server, token: str) -> bool:
    resp = request("GET", f"{server.endpoint}/api/whoami-v2", token=token)
    assert resp.status in (200, 401), resp.describe()
    return resp.status == 200


def gated_repo(owner, mode: str = "manual") -> str:
    repo_id = owner.new_repo_id("gated")
    owner.api.create_repo(repo_id)
    owner.api.upload_file(path_or_fileobj=GATED_CARD.encode(), path_in_repo="README.md", repo_id=repo_id)
    owner.api.update_repo_settings(repo_id, gated=mode)
    return repo_id


def device_code(server) -> dict:
    from huggingface_hub import constants

    resp = request("POST", f"{server.endpoint}/oauth/device", form={"client_id": constants.DEVICE_CODE_OAUTH_CLIENT_ID})
    assert resp.status == 200, resp.describe()
    return resp.json()


def device_token_answer(server, device: dict) -> dict:
    from huggingface_hub import constants

    resp = request(
        "POST",
        f"{server.endpoint}/oauth/token",
        form={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "device_code": device["device_code"],
            "client_id": constants.DEVICE_CODE_OAUTH_CLIENT_ID,
        },
    )
    assert resp.status < 500, resp.describe()
    return resp.json()


def token_row_forms(page: Page, name: str):
    row = page.dom.find("tr", lambda n: n.get("data-token-name") == name)
    assert row is not None, f'no tr[data-token-name="{name}"] in #tokens on {page.url}'
    return page.forms(within=row)


def token_id(server, user, name: str):
    for t in account_of(server, user).list_tokens():
        if t["name"] == name:
            return t["id"]
    raise AssertionError(f"{user.name} has no token named {name}")


# --- pages that need a session ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/settings/account",
        "/settings/tokens",
        "/settings/tokens/new",
        "/settings/tokens/new?preset=download",
        "/settings/organizations",
        "/new",
        "/organizations/new",
        "/device?user_code=ABCD-EFGH",
        "/admin/users",
        "/admin/audit",
    ],
)
def test_pages_that_need_a_session_redirect_to_login(server, path):
    page = WebClient(server.endpoint).get(path)
    assert page.status == 303, page.describe()
    target, params = location(page.resp)
    assert target == "/login", page.resp.headers.get("location")
    assert params.get("next") == path, page.resp.headers.get("location")


def test_login_goes_back_to_next_and_only_to_a_local_path(server, alice):
    for next_path, expected in [
        ("/settings/tokens", "/settings/tokens"),
        ("/device?user_code=ABCD-EFGH", "/device?user_code=ABCD-EFGH"),
        ("https://evil.example/steal", None),
        ("//evil.example/steal", None),
        ("/\\evil.example", None),
    ]:
        client = WebClient(server.endpoint)
        page = client.get("/login?next=" + urllib.parse.quote(next_path, safe=""))
        assert page.status == 200, page.describe()
        form = page.form("username", "password")
        if expected is not None:
            assert ("next", next_path) in form.values(), f"the login form does not carry next={next_path!r}"
        # A crafted form may post any next: the server must still stay on the site.
        done = client.submit(form, {"username": alice.name, "password": alice.password, "next": next_path})
        assert done.status == 303, done.describe()
        loc = done.resp.headers["location"]
        if expected is not None:
            assert loc == expected, loc
        else:
            parts = urllib.parse.urlsplit(loc)
            assert not parts.netloc and loc.startswith("/") and not loc.startswith("//") and "\\" not in loc, (
                f"next={next_path!r} sent the browser to {loc!r}"
            )


def test_the_session_cookie_is_httponly_and_samesite(server, alice):
    client = WebClient(server.endpoint)
    form = client.get("/login").form("username", "password")
    done = client.submit(form, {"username": alice.name, "password": alice.password})
    assert done.status == 303, done.describe()
    attrs = cookie_attributes(done.resp.set_cookies, SESSION_COOKIE)
    assert attrs is not None, done.resp.set_cookies
    assert "httponly" in attrs, done.resp.set_cookies
    assert attrs.get("samesite", "").lower() in ("lax", "strict"), done.resp.set_cookies
    assert attrs.get("path", "/") == "/", done.resp.set_cookies

    name = unique_name("cookie")
    client = WebClient(server.endpoint)
    form = client.get("/join").form("username", "email", "password")
    joined = client.submit(form, {"username": name, "email": f"{name}@example.test", "password": PASSWORD})
    assert joined.status == 303, joined.describe()
    attrs = cookie_attributes(joined.resp.set_cookies, SESSION_COOKIE)
    assert attrs is not None and "httponly" in attrs, joined.resp.set_cookies
    assert attrs.get("samesite", "").lower() in ("lax", "strict"), joined.resp.set_cookies


def test_logout_ends_the_session_on_the_server(server, alice):
    client = web(server, alice)
    cookies = dict(client.cookies)
    page = client.get("/settings/tokens")
    assert page.status == 200, page.describe()
    out = client.submit(page.form(action="/logout"))
    assert out.status == 303 and location(out.resp)[0] == "/", out.describe()
    replay = request("GET", f"{server.endpoint}/settings/tokens", cookies=cookies)
    assert replay.status == 303, f"the old session cookie still opens /settings/tokens: {replay.describe()}"


# --- sign-up, log in, passwords ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case, field",
    [
        ("missing-username", "username"),
        ("bad-username", "username"),
        ("missing-email", "email"),
        ("bad-email", "email"),
        ("short-password", "password"),
        ("missing-password", "password"),
    ],
)
def test_join_with_invalid_input_shows_the_form_again(server, case, field):
    name = unique_name("join")
    values = {"username": name, "email": f"{name}@example.test", "password": PASSWORD, "fullname": "Jo Join"}
    if case == "bad-username":
        values["username"] = f"{name} with spaces!"
    elif case == "bad-email":
        values["email"] = "not-an-email"
    elif case == "short-password":
        values["password"] = "short"
    else:
        values[field] = ""
    client = WebClient(server.endpoint)
    form = client.get("/join").form("username", "email", "password")
    page = client.submit(form, values)
    assert_invalid_form(page, field)
    assert not client.has_session, "a refused sign-up opened a session"
    for kept in ("username", "email", "fullname"):
        assert page.input_value(kept) == values[kept], f"{kept} was not kept: {page.input_value(kept)!r}"
    assert page.input_value("password") in ("", None), "the password was sent back"
    if values["password"]:
        assert values["password"] not in page.html, "the typed password appears in the page"

    # Nothing was created: the same name signs up with valid input.
    client = WebClient(server.endpoint)
    form = client.get("/join").form("username", "email", "password")
    ok = client.submit(form, {"username": name, "email": f"{name}@example.test", "password": PASSWORD})
    assert ok.status == 303, f"after the refused sign-up ({case}) the valid one failed: {ok.describe()}"


def test_join_signs_in_and_mails_a_verification_link(server, mailbox):
    name = unique_name("joined")
    address = f"{name}@example.test"
    client = WebClient(server.endpoint)
    form = client.get("/join").form("username", "email", "password")
    page = client.submit(form, {"username": name, "email": address, "password": PASSWORD, "fullname": "Jo"})
    assert page.status == 303, page.describe()
    assert location(page.resp)[0] == "/settings/account"
    assert client.has_session
    assert mailbox.wait_for(address, text="/email/verify?code=")
    settings = client.get("/settings/account")
    assert settings.status == 200, settings.describe()
    assert address in settings.main_text

    taken = WebClient(server.endpoint)
    form = taken.get("/join").form("username", "email", "password")
    again = taken.submit(form, {"username": name.upper(), "email": f"other-{address}", "password": PASSWORD})
    assert_invalid_form(again, "username")


def test_login_with_a_wrong_password_keeps_the_username_only(server, alice):
    client = WebClient(server.endpoint)
    form = client.get("/login").form("username", "password")
    wrong = alice.password + "-typo"
    page = client.submit(form, {"username": alice.name, "password": wrong})
    assert_4xx(page)
    assert not client.has_session
    assert page.input_value("username") == alice.name
    assert wrong not in page.html and alice.password not in page.html

    missing = client.submit(client.get("/login").form("username", "password"), {"username": "", "password": ""})
    assert_4xx(missing)
    assert not client.has_session


def test_forgotten_password_answers_the_same_for_known_and_unknown_addresses(server, alice):
    answers = []
    for address in (alice.email, f"nobody-{alice.email}"):
        client = WebClient(server.endpoint)
        page = client.submit(client.get("/password/forgot").form("email"), {"email": address})
        page = client.get(location(page.resp)[0]) if page.status == 303 else page
        assert page.status == 200, page.describe()
        assert "Check your inbox" in page.main_text, page.main_text
        answers.append(page.main_text.replace(address, "ADDRESS"))
    assert answers[0] == answers[1], "the answer tells whether the address has an account"

    client = WebClient(server.endpoint)
    empty = client.submit(client.get("/password/forgot").form("email"), {"email": ""})
    assert_invalid_form(empty, "email")


def test_password_reset_with_an_unknown_code_is_refused(server, mailbox, make_user):
    bogus = WebClient(server.endpoint).get("/password/reset?code=never-issued")
    assert bogus.status < 500, bogus.describe()

    user = make_user("reset")
    client = WebClient(server.endpoint)
    client.submit(client.get("/password/forgot").form("email"), {"email": user.email})
    link = mailbox.wait_for(user.email, text="password").link
    code = query_param(link, "code")
    path = "/password/reset?code=" + urllib.parse.quote(code)
    form = client.get(path).form("password")
    short = client.submit(form, {"password": "short"})
    assert_invalid_form(short, "password")
    assert "short" not in (short.input_value("password") or "")

    forged_values = {"password": "a-long-new-password"}
    if "code" in form.field_names():
        forged_values["code"] = "never-issued-code"
    forged = client.post("/password/reset?code=never-issued-code", form.values(forged_values))
    assert_4xx(forged)
    # The refused attempts used nothing up: the mailed code still works.
    done = client.submit(client.get(path).form("password"), {"password": "a-long-new-password"})
    done = client.get(location(done.resp)[0]) if done.status == 303 else done
    assert done.status == 200 and "Password changed" in done.main_text, done.describe()


@pytest.mark.parametrize("case", ["bad-email", "missing-email", "wrong-password"])
def test_email_change_with_invalid_input_changes_nothing(server, alice, case):
    client = web(server, alice)
    values = {"email": f"new-{alice.email}", "password": alice.password}
    field = "email"
    if case == "bad-email":
        values["email"] = "not-an-email"
    elif case == "missing-email":
        values["email"] = ""
    else:
        values["password"] = "not-my-password"
        field = "password"
    page = client.submit(client.get("/settings/account").form("email", "password"), values)
    assert_invalid_form(page, field)
    if case == "wrong-password":
        assert page.input_value("email") == values["email"]
    assert values["password"] not in page.html
    assert account_of(server, alice).account()["pendingEmail"] in (None, "")


# --- tokens ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case, field",
    [
        ("missing-name", "name"),
        ("missing-role", "role"),
        ("unknown-role", "role"),
        ("expiry-in-the-past", "expires"),
        ("expiry-not-a-date", "expires"),
        ("admin-without-password", "password"),
        ("admin-with-a-wrong-password", "password"),
        ("fine-grained-malformed-permission", "perm"),
        ("fine-grained-unknown-permission", "perm"),
        ("fine-grained-someone-elses-private-repo", "perm"),
    ],
)
def test_token_form_with_invalid_input_creates_nothing(server, alice, bob, case, field):
    client = web(server, alice)
    name = unique_name("tok")
    values: dict = {"name": name, "role": "read", "expires": ""}
    if case == "missing-name":
        values["name"] = ""
    elif case == "missing-role":
        values["role"] = None
    elif case == "unknown-role":
        values["role"] = "superuser"
    elif case == "expiry-in-the-past":
        values["expires"] = "2001-01-31"
    elif case == "expiry-not-a-date":
        values["expires"] = "next tuesday"
    elif case == "admin-without-password":
        values.update(role="admin", password="")
    elif case == "admin-with-a-wrong-password":
        values.update(role="admin", password="not-my-password")
    elif case == "fine-grained-malformed-permission":
        values.update(role="fineGrained", perm=["no-separator-here"])
    elif case == "fine-grained-unknown-permission":
        values.update(role="fineGrained", perm=[f"user:{alice.name}|repo.teleport"])
    else:
        private = bob.new_repo_id("private")
        bob.api.create_repo(private, private=True)
        values.update(role="fineGrained", perm=[f"model:{private}|repo.content.read"])
    before = token_names(server, alice)
    form = client.get("/settings/tokens/new").form("name", "role")
    page = client.submit(form, values, button=re.compile(r"create|generate", re.I))
    if field == "perm":
        assert_4xx(page, 422)  # docs/WEB.md names no error id for the permission checkboxes
    else:
        assert_invalid_form(page, field)
    assert token_names(server, alice) == before, "a refused form created a token"
    if values["name"]:
        assert page.input_value("name") == values["name"], "the token name was not kept"
    if values.get("role") in ("admin", "fineGrained"):
        assert page.is_checked("role", values["role"]), "the chosen role was not kept"
    if values.get("expires"):
        assert page.input_value("expires") == values["expires"], "the typed expiry was not kept"
    assert "not-my-password" not in page.html


def test_token_actions_on_another_users_token_answer_404_and_change_nothing(server, alice, bob):
    alice_token = alice.read_token
    victim = token_id(server, alice, alice.token_name("read"))
    client = web(server, bob)
    csrf = client.get("/settings/tokens").csrf()
    assert_4xx(client.get(f"/settings/tokens/{victim}/revoke"), 404)
    assert_4xx(client.post(f"/settings/tokens/{victim}/revoke", [("csrf", csrf)]), 404)
    assert_4xx(client.post(f"/settings/tokens/{victim}/rename", [("csrf", csrf), ("name", "stolen")]), 404)
    assert_4xx(client.post(f"/settings/tokens/{victim}/refresh", [("csrf", csrf)]), 404)
    assert token_works(server, alice_token), "bob's requests revoked or refreshed alice's token"
    assert alice.token_name("read") in token_names(server, alice), "bob's request renamed alice's token"
    for bogus in ("999999999", "not-an-id"):
        assert_4xx(client.post(f"/settings/tokens/{bogus}/revoke", [("csrf", csrf)]))


def test_rename_refresh_and_revoke_forms(server, alice):
    secret = alice.read_token
    name = alice.token_name("read")
    client = web(server, alice)
    page = client.get("/settings/tokens")
    assert page.status == 200, page.describe()
    forms = token_row_forms(page, name)

    rename = next(f for f in forms if "name" in f.field_names())
    empty = client.submit(rename, {"name": ""})
    assert_4xx(empty)
    assert name in token_names(server, alice)
    renamed = client.submit(rename, {"name": f"{name}-laptop"}, button="Rename")
    assert renamed.status in (200, 303), renamed.describe()
    assert f"{name}-laptop" in token_names(server, alice)
    name = f"{name}-laptop"

    # Refresh shows the new secret once; the old one stops at once.
    page = client.get("/settings/tokens")
    refresh = next(f for f in token_row_forms(page, name) if f.buttons() and f.buttons()[0].text.strip() == "Refresh")
    refreshed = client.submit(refresh, button="Refresh")
    assert refreshed.status == 200, refreshed.describe()
    box = refreshed.dom.by_id("new-token")
    assert box is not None and box.has("readonly"), "no read-only #new-token on the refresh page"
    new_secret = box.get("value") or ""
    assert new_secret.startswith("hf_") and new_secret != secret
    assert not token_works(server, secret), "the old secret still works after Refresh"
    assert token_works(server, new_secret)
    assert new_secret not in client.get("/settings/tokens").html, "the list shows the refreshed secret"
    secret = new_secret

    # The revoke confirmation page changes nothing; its button does.
    confirm = client.get(f"/settings/tokens/{token_id(server, alice, name)}/revoke")
    assert confirm.status == 200, confirm.describe()
    assert name in confirm.main_text
    assert token_works(server, secret), "GET of the confirmation page revoked the token"
    done = client.submit(confirm.form(button="Revoke this token"), button="Revoke this token")
    assert done.status in (200, 303), done.describe()
    assert not token_works(server, secret), "the token still works after Revoke"


# --- repositories and organizations ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case, field",
    [
        ("missing-name", "name"),
        ("bad-name", "name"),
        ("taken-name", "name"),
        ("unknown-type", "type"),
        ("someone-elses-namespace", "owner"),
    ],
)
def test_new_repo_with_invalid_input_creates_nothing(server, alice, bob, case, field):
    client = web(server, alice)
    name = unique_name("model")
    values = {"type": "model", "name": name, "owner": alice.name}
    if case == "missing-name":
        values["name"] = ""
    elif case == "bad-name":
        values["name"] = "bad name!"
    elif case == "taken-name":
        alice.api.create_repo(f"{alice.name}/{name}")
    elif case == "unknown-type":
        values["type"] = "notebook"
    else:
        values["owner"] = bob.name
    page = client.submit(client.get("/new").form("name", "type"), values)
    if case == "someone-elses-namespace":
        assert_4xx(page)
    else:
        assert_invalid_form(page, field)
    if values["name"] and case != "unknown-type":
        assert page.input_value("name") == values["name"], "the typed name was not kept"
    if case != "taken-name" and values["name"]:
        assert not repo_exists(server, f"{values['owner']}/{values['name']}", bob.read_token)
        assert not repo_exists(server, f"{alice.name}/{values['name']}", alice.read_token)


def test_new_repo_creates_a_private_repo(server, alice):
    client = web(server, alice)
    name = unique_name("made-in-browser")
    form = client.get("/new").form("name", "type")
    page = client.submit(form, {"type": "model", "name": name, "owner": alice.name, "private": "on"})
    assert page.status == 303, page.describe()
    assert location(page.resp)[0] == f"/{alice.name}/{name}"
    assert alice.api.model_info(f"{alice.name}/{name}").private is True


@pytest.mark.parametrize("case", ["missing-name", "bad-name", "taken-by-a-user"])
def test_new_organization_with_invalid_input_creates_nothing(server, alice, bob, case):
    client = web(server, alice)
    name = {"missing-name": "", "bad-name": "acme corp!", "taken-by-a-user": bob.name}[case]
    page = client.submit(client.get("/organizations/new").form("name", "fullname"), {"name": name, "fullname": "Acme"})
    assert_invalid_form(page, "name")
    assert page.input_value("fullname") == "Acme"
    if name:
        assert page.input_value("name") == name
    if case == "bad-name":
        assert not org_exists(server, name)


def test_organization_forms_refuse_invalid_input_and_non_admins(server, alice, bob, make_user):
    org = new_org(server, alice, unique_name("org"))
    set_member(server, alice, org, bob, "write")
    carol = make_user("carol")
    client = web(server, alice)
    members = client.get(f"/organizations/{org}/settings/members")
    assert members.status == 200, members.describe()
    invite = members.form("user", "role", button="Invite")
    assert_4xx(client.submit(invite, {"user": "no-such-user-anywhere", "role": "read"}, button="Invite"))
    assert_4xx(client.submit(invite, {"user": carol.name, "role": "overlord"}, button="Invite"))
    assert carol.name not in client.get(f"/organizations/{org}/settings/members").html

    tokens = client.get(f"/organizations/{org}/settings/tokens")
    assert tokens.status == 200, tokens.describe()
    policy = tokens.form("policy")
    assert_4xx(client.submit(policy, {"policy": "anything_goes"}))
    assert account_of(server, alice).get(f"/api/organizations/{org}/settings/token-policy").json()["policy"] == "allow_all"

    # A member who is not an admin can neither see nor post these forms.
    other = web(server, bob)
    for path in (f"/organizations/{org}/settings/members", f"/organizations/{org}/settings/tokens"):
        assert_4xx(other.get(path))
    posted = other.post(
        policy.action, policy.values({"policy": "fine_grained_only", "csrf": other.get("/settings/tokens").csrf()})
    )
    assert_4xx(posted)
    assert account_of(server, alice).get(f"/api/organizations/{org}/settings/token-policy").json()["policy"] == "allow_all"


def members_of(server, admin, org: str) -> dict[str, str]:
    resp = request("GET", f"{server.endpoint}/api/organizations/{org}/members", token=admin.read_token)
    assert resp.status == 200, resp.describe()
    return {m["user"]: m.get("role") for m in resp.json()}


def member_form(page: Page, user: str, button: str):
    for f in page.forms():
        if ("user", user) in f.default_values() and any(b.text.strip() == button for b in f.buttons()):
            return f
    raise AssertionError(f"no {button!r} form for {user} on {page.url}")


def test_member_org_token_invitation_and_admin_forms_refuse_invalid_input(server, alice, bob, make_user):
    org = new_org(server, alice, unique_name("org"))
    set_member(server, alice, org, bob, "read")
    client = web(server, alice)
    members = client.get(f"/organizations/{org}/settings/members")
    assert members.status == 200, members.describe()

    change = member_form(members, bob.name, "Change role")
    assert_4xx(client.submit(change, {"role": "overlord"}, button="Change role"))
    assert_4xx(client.submit(change, {"user": "no-such-user-anywhere", "role": "write"}, button="Change role"))
    remove = member_form(members, bob.name, "Remove")
    assert_4xx(client.submit(remove, {"user": "no-such-user-anywhere"}, button="Remove"))
    assert members_of(server, alice, org) == {alice.name: "admin", bob.name: "read"}

    # The organization's own token form.
    new_token = client.get(f"/organizations/{org}/settings/tokens/new")
    assert new_token.status == 200, new_token.describe()
    refused = client.submit(new_token.form("name", "role"), {"name": "", "role": "read"}, button=re.compile(r"create", re.I))
    assert_invalid_form(refused, "name")
    listed = account_of(server, alice).get(f"/api/organizations/{org}/settings/tokens")
    assert listed.status == 200 and listed.json() == [], listed.describe()

    # An invitation that does not exist.
    csrf = client.get("/settings/organizations").csrf()
    for bogus in ("999999999", "not-an-id"):
        for answer in ("accept", "decline", ""):
            answered = client.post(f"/settings/organizations/invitations/{bogus}", [("csrf", csrf), ("answer", answer)])
            assert_4xx(answered)

    # Site administration: a token that does not exist, an action that does not exist.
    root = make_user("root", site_admin=True)
    admin = web(server, root)
    tokens = admin.get("/admin/tokens?user=" + urllib.parse.quote(alice.name))
    assert tokens.status == 200, tokens.describe()
    alice.read_token
    tokens = admin.get("/admin/tokens?user=" + urllib.parse.quote(alice.name))
    revoke = tokens.form(button="Revoke")
    token_field = next(k for k, v in revoke.default_values() if k not in ("csrf", "user") and v)
    assert_4xx(admin.submit(revoke, {token_field: "999999999"}, button="Revoke"))
    assert_4xx(admin.submit(revoke, {token_field: "not-an-id"}, button="Revoke"))
    assert token_works(server, alice.read_token)
    users = admin.get("/admin/users?q=" + urllib.parse.quote(alice.name))
    disable = member_form(users, alice.name, "Disable")
    action_field = next((k for k, v in disable.default_values() if v == "disable"), None)
    if action_field:
        assert_4xx(admin.submit(disable, {action_field: "explode"}, button="Disable"))
    assert token_works(server, alice.read_token)


def test_repo_settings_refuse_invalid_input_and_other_users(server, alice, bob):
    repo = alice.new_repo_id("settings")
    alice.api.create_repo(repo)
    client = web(server, alice)
    page = client.get(f"/{repo}/settings")
    assert page.status == 200, page.describe()

    assert_4xx(client.submit(page.form("gated"), {"gated": "sometimes"}))
    assert alice.api.model_info(repo).gated is False

    delete = page.form("confirm")
    wrong = client.submit(delete, {"confirm": f"{repo}-typo"}, button="Delete this repository")
    assert_invalid_form(wrong, "confirm")
    assert repo_exists(server, repo, alice.read_token)

    stranger = web(server, bob)
    assert_4xx(stranger.get(f"/{repo}/settings"))
    csrf = stranger.get("/settings/tokens").csrf()
    assert_4xx(stranger.post(delete.action, delete.values({"confirm": repo, "csrf": csrf}, button="Delete this repository")))
    assert_4xx(stranger.post(page.form("gated").action, page.form("gated").values({"gated": "manual", "csrf": csrf})))
    assert repo_exists(server, repo, alice.read_token)
    assert alice.api.model_info(repo).gated is False

    done = client.submit(delete, {"confirm": repo}, button="Delete this repository")
    assert done.status in (200, 303), done.describe()
    assert not repo_exists(server, repo, alice.read_token)


def test_an_access_request_with_missing_answers_is_refused(server, alice, bob):
    repo = gated_repo(alice)
    client = web(server, bob)
    page = client.get(f"/{repo}")
    assert page.status == 200, page.describe()
    form = page.form(button="Request access")
    refused = client.submit(form, button="Request access")
    assert_4xx(refused)
    assert pending_requests(server, alice, repo) == []


def test_access_request_queue_forms(server, alice, bob):
    repo = gated_repo(alice)
    page = web(server, alice).get(f"/{repo}/settings/access-requests")
    assert page.status == 200, page.describe()
    client = web(server, alice)
    grant = page.form("user")
    assert_4xx(client.submit(grant, {"user": "no-such-user-anywhere"}))
    assert_4xx(client.submit(grant, {"user": ""}))
    assert_4xx(web(server, bob).get(f"/{repo}/settings/access-requests"))


def test_device_page_refuses_unknown_codes_and_roles(server, alice):
    device = device_code(server)
    client = web(server, alice)
    page = client.get(f"/device?user_code={urllib.parse.quote(device['user_code'])}")
    assert page.status == 200, page.describe()
    assert device["user_code"] in page.main_text or page.input_value("user_code") == device["user_code"], (
        "the device page does not show the code"
    )
    form = page.form("role", button="Authorize")
    before = token_names(server, alice)

    assert_4xx(client.submit(form, {"role": "admin"}, button="Authorize"))
    assert_4xx(client.submit(form, {"role": ""}, button="Authorize"))
    if "user_code" in form.field_names():
        assert_4xx(client.submit(form, {"user_code": "ZZZZ-ZZZZ"}, button="Authorize"))
    assert token_names(server, alice) == before
    assert device_token_answer(server, device).get("error") == "authorization_pending"

    unknown = client.get("/device?user_code=ZZZZ-ZZZZ")
    assert unknown.status < 500, unknown.describe()


def test_site_administration_is_for_site_admins_only(server, alice, make_user):
    root = make_user("root", site_admin=True)
    for path in ("/admin/users", "/admin/tokens?user=" + alice.name, "/admin/audit"):
        assert_4xx(web(server, alice).get(path), 403)
        assert web(server, root).get(path).status == 200, path

    admin = web(server, root)
    page = admin.get("/admin/users?q=" + urllib.parse.quote(alice.name))
    assert page.status == 200, page.describe()
    assert alice.name in page.main_text
    row = page.dom.find("tr", lambda n: alice.name in n.text) or page.dom
    disable = next((f for f in page.forms(within=row) if any(b.text.strip() == "Disable" for b in f.buttons())), None)
    assert disable is not None, f"no Disable button for {alice.name} on /admin/users"
    # The same form for a user who does not exist: the field that names the user (by name, else by id) changed.
    fields = [(k, v) for k, v in disable.default_values() if k != "csrf"]
    changes = {k: "no-such-user-anywhere" for k, v in fields if v == alice.name}
    changes = changes or {k: "999999999" for k, v in fields if v.isdigit()}
    if not changes and urllib.parse.urlsplit(disable.action).path.count(alice.name):
        disable.action = disable.action.replace(alice.name, "no-such-user-anywhere")
    assert_4xx(admin.submit(disable, changes, button="Disable"))

    # A user who is not a site admin cannot post it either.
    other = web(server, alice)
    posted = other.post(disable.action, disable.values({"csrf": other.get("/settings/tokens").csrf()}, button="Disable"))
    assert_4xx(posted, 403)
    assert token_works(server, alice.read_token), "a non-admin disabled an account"


# --- CSRF ------------------------------------------------------------------------------------------------------


def test_anonymous_forms_need_the_double_submitted_csrf(server, alice):
    name = unique_name("csrf-join")
    values = {"username": name, "email": f"{name}@example.test", "password": PASSWORD}

    with_cookie = WebClient(server.endpoint)
    form = with_cookie.get("/join").form("username", "email", "password")
    assert ANON_CSRF_COOKIE in with_cookie.cookies, "GET /join set no hangar_csrf cookie"
    assert_csrf_refused(with_cookie.submit(form, {**values, "csrf": None}))
    assert_csrf_refused(with_cookie.submit(form, {**values, "csrf": FORGED_CSRF}))
    without_cookie = WebClient(server.endpoint)  # the field copied, the cookie missing
    assert_csrf_refused(without_cookie.post("/join", form.values(values)))
    assert not with_cookie.has_session and not without_cookie.has_session

    login = WebClient(server.endpoint)
    form = login.get("/login").form("username", "password")
    assert_csrf_refused(login.submit(form, {"username": alice.name, "password": alice.password, "csrf": None}))
    assert_csrf_refused(WebClient(server.endpoint).post("/login", form.values({"username": alice.name, "password": alice.password})))
    assert not login.has_session

    forgot = WebClient(server.endpoint)
    assert_csrf_refused(forgot.submit(forgot.get("/password/forgot").form("email"), {"email": alice.email, "csrf": None}))

    # Nothing was created: the name is still free.
    ok = WebClient(server.endpoint)
    done = ok.submit(ok.get("/join").form("username", "email", "password"), values)
    assert done.status == 303, done.describe()


def test_signed_in_forms_need_the_sessions_csrf(server, alice, bob):
    client = web(server, alice)
    bobs_csrf = web(server, bob).get("/settings/tokens").csrf()
    bad = [None, FORGED_CSRF, bobs_csrf]

    # Create a token.
    form = client.get("/settings/tokens/new").form("name", "role")
    name = unique_name("csrf-tok")
    for csrf in bad:
        page = client.submit(form, {"name": name, "role": "read", "csrf": csrf}, button=re.compile(r"create|generate", re.I))
        assert_csrf_refused(page)
    assert name not in token_names(server, alice)

    # Revoke, rename.
    secret = alice.read_token
    tid = token_id(server, alice, alice.token_name("read"))
    revoke = client.get(f"/settings/tokens/{tid}/revoke").form(button="Revoke this token")
    rename = next(f for f in token_row_forms(client.get("/settings/tokens"), alice.token_name("read")) if "name" in f.field_names())
    for csrf in bad:
        assert_csrf_refused(client.submit(revoke, {"csrf": csrf}, button="Revoke this token"))
        assert_csrf_refused(client.submit(rename, {"name": "renamed-by-csrf", "csrf": csrf}, button="Rename"))
    assert token_works(server, secret)
    assert alice.token_name("read") in token_names(server, alice)

    # New repo, new organization.
    repo_name = unique_name("csrf-repo")
    org_name = unique_name("csrf-org")
    new_repo = client.get("/new").form("name", "type")
    new_org_form = client.get("/organizations/new").form("name", "fullname")
    for csrf in bad:
        assert_csrf_refused(client.submit(new_repo, {"type": "model", "name": repo_name, "owner": alice.name, "csrf": csrf}))
        assert_csrf_refused(client.submit(new_org_form, {"name": org_name, "csrf": csrf}))
    assert not repo_exists(server, f"{alice.name}/{repo_name}", alice.read_token)
    assert not org_exists(server, org_name)

    # Email change.
    email_form = client.get("/settings/account").form("email", "password")
    assert_csrf_refused(client.submit(email_form, {"email": f"csrf-{alice.email}", "password": alice.password, "csrf": None}))
    assert account_of(server, alice).account()["pendingEmail"] in (None, "")

    # Repo settings: gating and deletion.
    repo = alice.new_repo_id("csrf-settings")
    alice.api.create_repo(repo)
    settings = client.get(f"/{repo}/settings")
    for csrf in bad:
        assert_csrf_refused(client.submit(settings.form("gated"), {"gated": "manual", "csrf": csrf}))
        assert_csrf_refused(client.submit(settings.form("confirm"), {"confirm": repo, "csrf": csrf}, button="Delete this repository"))
    assert repo_exists(server, repo, alice.read_token)
    assert alice.api.model_info(repo).gated is False

    # Organization policy and invitations.
    org = new_org(server, alice, unique_name("csrf-org"))
    policy = client.get(f"/organizations/{org}/settings/tokens").form("policy")
    invite = client.get(f"/organizations/{org}/settings/members").form("user", "role", button="Invite")
    for csrf in bad:
        assert_csrf_refused(client.submit(policy, {"policy": "fine_grained_only", "csrf": csrf}))
        assert_csrf_refused(client.submit(invite, {"user": bob.name, "role": "admin", "csrf": csrf}, button="Invite"))
    assert account_of(server, alice).get(f"/api/organizations/{org}/settings/token-policy").json()["policy"] == "allow_all"
    assert bob.name not in client.get(f"/organizations/{org}/settings/members").html

    # Device authorization.
    device = device_code(server)
    authorize = client.get(f"/device?user_code={urllib.parse.quote(device['user_code'])}").form("role", button="Authorize")
    for csrf in bad:
        assert_csrf_refused(client.submit(authorize, {"role": "write", "csrf": csrf}, button="Authorize"))
    assert device_token_answer(server, device).get("error") == "authorization_pending"

    # Organization members: change a role, remove a member.
    set_member(server, alice, org, bob, "read")
    members = client.get(f"/organizations/{org}/settings/members")
    change = member_form(members, bob.name, "Change role")
    remove = member_form(members, bob.name, "Remove")
    for csrf in bad:
        assert_csrf_refused(client.submit(change, {"role": "admin", "csrf": csrf}, button="Change role"))
        assert_csrf_refused(client.submit(remove, {"csrf": csrf}, button="Remove"))
    assert members_of(server, alice, org)[bob.name] == "read"

    # Log out.
    logout = client.get("/settings/tokens").form(action="/logout")
    for csrf in bad:
        assert_csrf_refused(client.submit(logout, {"csrf": csrf}))
    assert client.get("/settings/tokens").status == 200, "a refused logout ended the session"


def test_site_administration_forms_need_the_csrf(server, alice, make_user):
    root = make_user("root", site_admin=True)
    admin = web(server, root)
    alice_token = alice.read_token
    disable = member_form(admin.get("/admin/users?q=" + urllib.parse.quote(alice.name)), alice.name, "Disable")
    revoke = admin.get("/admin/tokens?user=" + urllib.parse.quote(alice.name)).form(button="Revoke")
    for csrf in (None, FORGED_CSRF, web(server, alice).get("/settings/tokens").csrf()):
        assert_csrf_refused(admin.submit(disable, {"csrf": csrf}, button="Disable"))
        assert_csrf_refused(admin.submit(revoke, {"csrf": csrf}, button="Revoke"))
    assert token_works(server, alice_token), "a refused form disabled the account or revoked the token"


def test_access_request_decisions_need_the_csrf(server, alice, bob):
    repo = gated_repo(alice)
    asker = web(server, bob)
    ask = asker.get(f"/{repo}").form(button="Request access")
    answers = {}
    for n in ask.controls():
        label_name = n.get("name")
        if not label_name or label_name == "csrf":
            continue
        answers[label_name] = "on" if (n.get("type") or "").lower() == "checkbox" else "Acme"
    assert_csrf_refused(asker.submit(ask, {**answers, "csrf": None}, button="Request access"))
    assert pending_requests(server, alice, repo) == []
    asked = asker.submit(ask, answers, button="Request access")
    assert asked.status in (200, 303), asked.describe()
    assert len(pending_requests(server, alice, repo)) == 1, "the request was not recorded"

    owner = web(server, alice)
    queue = owner.get(f"/{repo}/settings/access-requests")
    accept = queue.form(button="Accept")
    assert_csrf_refused(owner.submit(accept, {"csrf": None}, button="Accept"))
    assert_csrf_refused(owner.submit(accept, {"csrf": FORGED_CSRF}, button="Accept"))
    assert len(pending_requests(server, alice, repo)) == 1, "a refused Accept decided the request"


# --- what pages load and show -------------------------------------------------------------------------------------

EXTERNAL_CARD = """---
license: mit
tags:
- demo
---
# Card with outside links

![a logo hosted elsewhere](https://cdn.example.com/logo.png)

<img src="http://tracker.example.net/pixel.gif" alt="pixel">

<img srcset="https://cdn.example.com/a.png 1x, https://cdn.example.com/b.png 2x" src="/favicon.png" alt="set">

A [link to the Hub](https://huggingface.co) is fine: it is not loaded.
"""


def test_pages_load_nothing_from_another_host(server, alice, bob):
    repo = alice.new_repo_id("outside")
    alice.api.create_repo(repo)
    alice.api.upload_file(path_or_fileobj=EXTERNAL_CARD.encode(), path_in_repo="README.md", repo_id=repo)
    org = new_org(server, alice, unique_name("org"))
    own_host = server.endpoint.split("://", 1)[1]

    anon = WebClient(server.endpoint)
    signed_in = web(server, alice)
    device = device_code(server)
    pages = [(anon, p) for p in ("/", "/join", "/login", "/password/forgot", f"/{repo}", f"/{alice.name}")]
    pages += [
        (signed_in, p)
        for p in (
            "/",
            "/settings/account",
            "/settings/tokens",
            "/settings/tokens/new",
            "/settings/tokens/new?preset=inference-one-model&repo=" + urllib.parse.quote(repo),
            "/settings/organizations",
            "/new",
            "/organizations/new",
            f"/organizations/{org}/settings/members",
            f"/organizations/{org}/settings/tokens",
            f"/{repo}",
            f"/{repo}/tree/main",
            f"/{repo}/commits/main",
            f"/{repo}/refs",
            f"/{repo}/settings",
            f"/{alice.name}",
            f"/{org}",
            f"/device?user_code={urllib.parse.quote(device['user_code'])}",
        )
    ]
    problems = []
    for client, path in pages:
        page = client.get(path)
        if page.status != 200:
            problems.append(f"{path}: status {page.status}")
            continue
        problems += [f"{path}: {ref}" for ref in foreign_references(page, own_host)]
    missing = anon.get(f"/{alice.name}/no-such-repo-{unique_name('x')}")
    assert missing.status == 404, missing.describe()
    problems += [f"404 page: {ref}" for ref in foreign_references(missing, own_host)]
    assert not problems, "\n".join(problems)


XSS_CARD = """---
license: mit
---
# Safe heading

<script>alert("xss-script")</script>

<img src="x" onerror="alert('xss-onerror')">

<a href="javascript:alert('xss-href')">click me</a>

[markdown link](javascript:alert('xss-md'))

<iframe src="/settings/tokens"></iframe>

<style>body { display: none }</style>

<div onclick="alert('xss-onclick')">a div</div>

<form action="/logout" method="post"><button>Log out from the card</button></form>

<object data="/static/hangar.js"></object>
"""


def test_the_model_card_is_rendered_and_sanitised(server, alice):
    repo = alice.new_repo_id("xss")
    alice.api.create_repo(repo)
    alice.api.upload_file(path_or_fileobj=XSS_CARD.encode(), path_in_repo="README.md", repo_id=repo)
    page = WebClient(server.endpoint).get(f"/{repo}")
    assert page.status == 200, page.describe()
    main = page.dom.find("main")
    assert main is not None
    assert any(h.text == "Safe heading" for h in main.find_all(pred=lambda n: n.tag in ("h1", "h2", "h3"))), (
        "the card's Markdown heading is not rendered as a heading"
    )
    problems = []
    for n in page.dom.iter():
        if n.tag == "script" and n.get("src") != "/static/hangar.js":
            problems.append(f"script: {n.attrs} {n.text[:80]}")
        for attr, value in n.attrs.items():
            if attr.startswith("on"):
                problems.append(f"<{n.tag} {attr}={value!r}>")
            if attr in ("href", "src", "action", "data", "formaction") and value.strip().lower().startswith("javascript:"):
                problems.append(f"<{n.tag} {attr}={value!r}>")
    for n in main.iter():
        if n.tag in ("iframe", "object", "embed", "style", "form", "base", "meta", "link"):
            problems.append(f"<{n.tag}> inside the card: {n.attrs}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("kind", ["model", "dataset"])
def test_a_private_repo_answers_strangers_exactly_like_a_missing_one(server, alice, bob, kind):
    prefix = "" if kind == "model" else "datasets/"
    private = alice.new_repo_id("hidden")
    alice.api.create_repo(private, private=True, repo_type=kind)
    alice.api.upload_file(path_or_fileobj=b"secret\n", path_in_repo="secret.txt", repo_id=private, repo_type=kind)
    missing = alice.new_repo_id("absent")  # same owner, never created
    suffixes = ["", "/tree/main", "/tree/main/secret.txt", "/commits/main", "/refs", "/settings", "/settings/access-requests"]

    def normalised(page: Page, repo_id: str) -> str:
        text = page.html.replace(repo_id, "REPO").replace(urllib.parse.quote(repo_id, safe=""), "REPO")
        text = text.replace(repo_id.split("/", 1)[1], "NAME")
        return re.sub(r'(name="csrf" value=")[^"]*', r"\1", text)

    owner = web(server, alice)
    for suffix in ("", "/tree/main", "/commits/main", "/refs", "/settings"):
        seen = owner.get(f"/{prefix}{private}{suffix}")
        assert seen.status == 200, f"the owner cannot open /{prefix}{private}{suffix}: {seen.describe()}"

    for who, client in (("anonymous", WebClient(server.endpoint)), ("another user", web(server, bob))):
        for suffix in suffixes:
            hidden = client.get(f"/{prefix}{private}{suffix}")
            absent = client.get(f"/{prefix}{missing}{suffix}")
            assert hidden.status == absent.status, (
                f"{who}: /{prefix}{private}{suffix} answers {hidden.status}, a missing repo {absent.status}"
            )
            assert hidden.status in (303, 404), f"{who}: {hidden.describe()}"
            if hidden.status == 303:
                assert location(hidden.resp)[0] == "/login", hidden.resp.headers.get("location")
            else:
                assert normalised(hidden, private) == normalised(absent, missing), (
                    f"{who}: the 404 of /{prefix}{private}{suffix} differs from a missing repo's"
                )


# --- labels -----------------------------------------------------------------------------------------------------


def test_every_form_control_is_labelled(server, alice, bob):
    repo = gated_repo(alice)
    org = new_org(server, alice, unique_name("org"))
    owner = web(server, alice)
    asker = web(server, bob)
    device = device_code(server)
    alice.read_token  # a row in the token list, with its rename field
    pages = [
        (WebClient(server.endpoint), "/join"),
        (WebClient(server.endpoint), "/login"),
        (WebClient(server.endpoint), "/password/forgot"),
        (owner, "/settings/account"),
        (owner, "/settings/tokens"),
        (owner, "/settings/tokens/new"),
        (owner, "/new"),
        (owner, "/organizations/new"),
        (owner, f"/organizations/{org}/settings/members"),
        (owner, f"/organizations/{org}/settings/tokens"),
        (owner, f"/{repo}/settings"),
        (owner, f"/{repo}/settings/access-requests"),
        (asker, f"/{repo}"),
        (owner, f"/device?user_code={urllib.parse.quote(device['user_code'])}"),
    ]
    problems = []
    for client, path in pages:
        page = client.get(path)
        if page.status != 200:
            problems.append(f"{path}: status {page.status}")
            continue
        problems += [f"{path}: {c}" for c in unlabelled_controls(page)]
    assert not problems, "controls without a <label>:\n" + "\n".join(problems)
