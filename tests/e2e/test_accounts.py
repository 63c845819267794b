"""Accounts: sign-up with email verification, login and logout with a cookie session, CSRF, password reset and
email change by mail, and the outbox used when no SMTP server is configured (docs/ACCESS.md, "Accounts")."""

from __future__ import annotations

import pytest

from access_helpers import (
    SESSION_COOKIE,
    AccountClient,
    account_of,
    assert_mentions,
    outbox_mails,
    poll,
    query_param,
    request,
    start_private_server,
)
from hangar_e2e import unique_name

PASSWORD = "correct-horse-battery"


def _new_identity(prefix: str = "signup") -> tuple[str, str]:
    name = unique_name(prefix)
    return name, f"{name}@example.test"


def _verify_link(mailbox, endpoint: str, address: str) -> str:
    """The verification link mailed to `address`: {endpoint}/email/verify?code=…"""
    mail = mailbox.wait_for(address, text="/email/verify?code=")
    link = mail.link
    assert link.startswith(f"{endpoint}/email/verify?code="), f"first link of the mail: {link}\n{mail.body}"
    return link


def _follow(link: str):
    """What a browser does with a mailed link: a GET (redirects are not followed; a 3xx is a success here)."""
    return request("GET", link)


# --- sign-up and verification ---------------------------------------------------------------------------


def test_signup_mails_a_verification_link_that_works_once(server, mailbox):
    name, address = _new_identity()
    client, resp = AccountClient.signup(server.endpoint, name, address, PASSWORD, fullname="Sign Up")
    assert resp.status == 201, resp.describe()
    answer = resp.json()
    assert (answer["name"], answer["email"], answer["emailVerified"]) == (name, address, False)
    assert PASSWORD not in resp.text
    assert client.has_session, "sign-up sets the session cookie"
    me = client.account()
    assert me["name"] == name
    assert me["fullname"] == "Sign Up"
    assert me["emailVerified"] is False

    link = _verify_link(mailbox, server.endpoint, address)
    first = _follow(link)
    assert first.status < 400, first.describe()
    basic = AccountClient(server.endpoint, basic=(name, PASSWORD))
    assert basic.account()["emailVerified"] is True
    assert client.account()["emailVerified"] is True, "the session sees the verified address too"

    again = _follow(link)
    assert again.status == 400, again.describe()
    assert_mentions(again.text, "used")


def test_an_unknown_verification_code_is_refused(server):
    resp = request("GET", f"{server.endpoint}/email/verify?code=this-code-was-never-issued")
    assert resp.status == 400, resp.describe()


def test_a_new_account_must_verify_its_email_before_creating_tokens(server, mailbox):
    name, address = _new_identity()
    client, resp = AccountClient.signup(server.endpoint, name, address, PASSWORD)
    assert resp.status == 201, resp.describe()

    refused = client.create_token(unique_name("early"), "read")
    assert refused.status == 403, refused.describe()
    assert refused.error_code == "EmailNotVerified"
    assert_mentions(refused.message, "verif", "email")

    _follow(_verify_link(mailbox, server.endpoint, address))
    late = unique_name("late")
    created = client.create_token(late, "read")
    assert created.status == 201, created.describe()
    assert [t["name"] for t in client.list_tokens()] == [late], "the refused token must not exist"


def test_an_operator_created_unverified_user_gets_a_new_link_on_request(server, mailbox):
    name, address = _new_identity("unverified")
    server.create_user(name, address, PASSWORD, verified=False)
    account = AccountClient(server.endpoint, basic=(name, PASSWORD))
    assert account.account()["emailVerified"] is False

    refused = account.create_token(unique_name("tok"), "write")
    assert refused.status == 403, refused.describe()
    assert refused.error_code == "EmailNotVerified"
    assert_mentions(refused.message, "verif")

    resend = account.post("/api/account/resend-verification")
    assert resend.status == 202, resend.describe()
    _follow(_verify_link(mailbox, server.endpoint, address))
    assert account.account()["emailVerified"] is True
    assert account.create_token(unique_name("tok"), "write").status == 201


def test_names_are_unique_case_insensitively(server, alice):
    name, address = _new_identity("casefold")
    _, first = AccountClient.signup(server.endpoint, name, address, PASSWORD)
    assert first.status == 201, first.describe()

    _, same_name = AccountClient.signup(server.endpoint, name.upper(), f"other-{address}", PASSWORD)
    assert same_name.status == 409, same_name.describe()
    _, exact = AccountClient.signup(server.endpoint, name, f"third-{address}", PASSWORD)
    assert exact.status == 409, exact.describe()
    # Users made by the operator CLI share the namespace.
    _, taken = AccountClient.signup(server.endpoint, alice.name.upper(), f"x-{alice.email}", PASSWORD)
    assert taken.status == 409, taken.describe()


@pytest.mark.parametrize(
    "case, field",
    [
        ("malformed-email", "email"),
        ("short-password", "password"),
        ("bad-username", "username"),
        ("missing-username", "username"),
        ("missing-email", "email"),
        ("missing-password", "password"),
    ],
)
def test_signup_validation_names_the_field_and_creates_nothing(server, case, field):
    name, address = _new_identity("invalid")
    body = {"username": name, "email": address, "password": PASSWORD}
    if case == "malformed-email":
        body["email"] = "not-an-email-address"
    elif case == "short-password":
        body["password"] = "short"
    elif case == "bad-username":
        body["username"] = f"{name} with spaces!"
    else:
        del body[field]
    resp = AccountClient(server.endpoint).post("/api/signup", body, csrf=False)
    assert resp.status == 400, resp.describe()
    assert_mentions(resp.message, field)
    assert SESSION_COOKIE not in "".join(resp.set_cookies), "a refused sign-up must not open a session"

    # Nothing was created: the same name can still sign up with valid data.
    _, ok = AccountClient.signup(server.endpoint, name, address, PASSWORD)
    assert ok.status == 201, f"after a refused sign-up ({case}), the valid one failed: {ok.describe()}"


# --- sessions -----------------------------------------------------------------------------------------------


def test_login_by_name_or_email_and_logout(server, alice):
    session = AccountClient.login(server.endpoint, alice.name, alice.password)
    me = session.account()
    assert me["name"] == alice.name
    assert me["email"] == alice.email
    assert session.get("/api/settings/tokens").status == 200

    by_email = AccountClient.login(server.endpoint, alice.email, alice.password)
    assert by_email.account()["name"] == alice.name

    cookie = dict(session.cookies)
    out = session.post("/api/logout")
    assert out.status == 200, out.describe()
    # The session ended on the server, not only in this client: the old cookie no longer works.
    replay = request("GET", f"{server.endpoint}/api/account", cookies=cookie)
    assert replay.status == 401, replay.describe()
    # The other session is untouched.
    assert by_email.account()["name"] == alice.name


def test_a_wrong_password_does_not_log_in(server, alice):
    client = AccountClient(server.endpoint)
    resp = client.post("/api/login", {"username": alice.name, "password": alice.password + "-typo"}, csrf=False)
    assert resp.status == 401, resp.describe()
    assert not client.has_session


def test_session_mutations_need_the_csrf_token(server, alice):
    session = AccountClient.login(server.endpoint, alice.name, alice.password)
    name = unique_name("csrf")

    missing = session.post("/api/settings/tokens", {"name": name, "role": "read"}, csrf=False)
    assert missing.status == 403, missing.describe()
    forged = session.post(
        "/api/settings/tokens", {"name": name, "role": "read"}, csrf=False, headers={"X-CSRF-Token": "forged"}
    )
    assert forged.status == 403, forged.describe()
    assert name not in {t["name"] for t in session.list_tokens()}, "a refused request created the token"

    ok = session.create_token(name, "read")
    assert ok.status == 201, ok.describe()
    # HTTP Basic carries no ambient authority: it needs no CSRF token.
    assert account_of(server, alice).create_token(unique_name("basic"), "read").status == 201


# --- password reset ------------------------------------------------------------------------------------------


def test_password_reset_by_mail(server, mailbox, make_user):
    user = make_user("reset")
    old_session = AccountClient.login(server.endpoint, user.name, user.password)

    # An unknown address gets the same answer: the route does not tell who has an account.
    unknown = request("POST", f"{server.endpoint}/api/password/forgot", json={"email": f"nobody-{user.email}"})
    assert unknown.status == 202, unknown.describe()
    resp = request("POST", f"{server.endpoint}/api/password/forgot", json={"email": user.email})
    assert resp.status == 202, resp.describe()

    mail = mailbox.wait_for(user.email, text="password")
    # ASSUMPTION: the reset link carries the code as `?code=`, like the verification link.
    code = query_param(mail.link, "code")

    # ASSUMPTION: a refused new password does not use up the code (the user retypes and retries).
    short = request("POST", f"{server.endpoint}/api/password/reset", json={"code": code, "password": "short"})
    assert short.status == 400, short.describe()
    assert_mentions(short.message, "password")

    new_password = "a-brand-new-password"
    done = request("POST", f"{server.endpoint}/api/password/reset", json={"code": code, "password": new_password})
    assert done.status == 200, done.describe()

    assert request("GET", f"{server.endpoint}/api/account", basic=(user.name, user.password)).status == 401
    assert AccountClient(server.endpoint, basic=(user.name, new_password)).account()["name"] == user.name
    assert old_session.get("/api/account").status == 401, "a reset ends every session of the account"

    again = request("POST", f"{server.endpoint}/api/password/reset", json={"code": code, "password": "yet-another-one"})
    assert again.status == 400, again.describe()
    assert AccountClient(server.endpoint, basic=(user.name, new_password)).account()["name"] == user.name


# --- email change --------------------------------------------------------------------------------------------


def test_email_change_takes_effect_once_the_new_address_is_verified(server, mailbox, make_user):
    user = make_user("mover")
    account = account_of(server, user)
    new_address = f"new-{user.name}@example.test"

    wrong = account.post("/api/account/email", {"email": new_address, "password": "not-my-password"})
    assert wrong.status in (400, 401, 403), wrong.describe()
    assert account.account()["pendingEmail"] in (None, "")

    resp = account.post("/api/account/email", {"email": new_address, "password": user.password})
    assert resp.status == 202, resp.describe()
    me = account.account()
    assert me["email"] == user.email, "the old address stays until the new one is verified"
    assert me["emailVerified"] is True
    assert me["pendingEmail"] == new_address
    assert user.api.whoami()["email"] == user.email

    mail = mailbox.wait_for(new_address, text="/email/verify?code=")
    assert user.email.lower() not in mail.recipients, "the verification link goes to the new address only"
    link = mail.link
    assert link.startswith(f"{server.endpoint}/email/verify?code=")
    assert _follow(link).status < 400

    me = account.account()
    assert me["email"] == new_address
    assert me["emailVerified"] is True
    assert me["pendingEmail"] in (None, "")
    assert user.api.whoami()["email"] == new_address
    # Mail now reaches the new address: a password reset asked for the new address arrives there.
    assert request("POST", f"{server.endpoint}/api/password/forgot", json={"email": new_address}).status == 202
    mailbox.wait_for(new_address, text="password")


# --- outbox mode ---------------------------------------------------------------------------------------------


@pytest.fixture
def outbox_server(tmp_path):
    srv = start_private_server(tmp_path)
    yield srv
    srv.stop()


def test_without_smtp_mail_goes_to_the_outbox_and_the_link_to_the_log(outbox_server):
    srv = outbox_server
    name, address = _new_identity("outbox")
    client, resp = AccountClient.signup(srv.endpoint, name, address, PASSWORD)
    assert resp.status == 201, resp.describe()

    def mail_in_outbox():
        return [m for m in outbox_mails(srv.data_dir) if m.is_to(address)]

    mails = poll(mail_in_outbox, timeout=10, what=f"an .eml file for {address} under {srv.data_dir / 'outbox'}")
    assert len(mails) == 1
    link = mails[0].link
    assert link.startswith(f"{srv.endpoint}/email/verify?code="), link

    poll(lambda: link in srv.log_path.read_text(errors="replace"), timeout=10, what="the link in the server log")

    assert _follow(link).status < 400
    assert client.account()["emailVerified"] is True
