"""The token management API (`/api/settings/tokens`, docs/ACCESS.md "Tokens"): what a user sees when creating,
listing, renaming, refreshing and revoking tokens, and how the official client sees the tokens."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone

import pytest
from huggingface_hub.errors import HfHubHTTPError

from access_helpers import AccountClient, account_of, assert_mentions, iso_in, request, token_api, whoami_raw
from hangar_e2e import unique_name

MAX_LIVE_TOKENS = 500


def assert_masked(masked: str, secret: str) -> None:
    """`hf_…abcd`: the prefix and the last four characters, never more of the secret."""
    assert masked.startswith("hf_"), masked
    assert masked.endswith(secret[-4:]), masked
    assert secret not in masked
    assert secret[3:-4] not in masked


def find(tokens: list[dict], token_id) -> dict | None:
    return next((t for t in tokens if str(t["id"]) == str(token_id)), None)


@pytest.mark.parametrize("role", ["read", "write", "admin"])
def test_create_a_token_and_use_it_with_the_client(server, alice, role):
    account = account_of(server, alice)
    name = unique_name(f"api-{role}")
    resp = account.create_token(name, role, password=alice.password if role == "admin" else None)
    assert resp.status == 201, resp.describe()
    created = resp.json()
    secret = created["token"]
    assert secret.startswith("hf_")
    assert created["name"] == name
    assert created["role"] == role
    assert created["state"] == "active"
    assert created["createdAt"]
    assert created["expiresAt"] is None
    assert_masked(created["masked"], secret)

    info = token_api(server.endpoint, secret).whoami()
    assert info["name"] == alice.name
    assert info["auth"]["accessToken"]["displayName"] == name
    assert info["auth"]["accessToken"]["role"] == role

    listing = account.get("/api/settings/tokens")
    assert listing.status == 200
    assert secret not in listing.text, "the secret is shown only when the token is created"
    listed = find(listing.json(), created["id"])
    assert listed is not None
    assert listed["name"] == name
    assert listed["role"] == role
    assert listed["state"] == "active"
    assert "token" not in listed
    assert_masked(listed["masked"], secret)
    assert listed["lastUsedAt"] is not None, "whoami used the token"


def test_the_token_list_works_in_a_session(server, alice):
    session = AccountClient.login(server.endpoint, alice.name, alice.password)
    created = session.new_token(unique_name("session"), "write")
    listed = find(session.list_tokens(), created["id"])
    assert listed is not None and listed["role"] == "write"
    assert token_api(server.endpoint, created["token"]).whoami()["auth"]["accessToken"]["role"] == "write"


def test_an_admin_token_needs_the_password_even_in_a_session(server, alice):
    session = AccountClient.login(server.endpoint, alice.name, alice.password)
    name = unique_name("admin")

    missing = session.create_token(name, "admin")
    assert 400 <= missing.status < 500, missing.describe()
    assert_mentions(missing.message, "password")
    wrong = session.create_token(name, "admin", password=alice.password + "-typo")
    assert wrong.status in (400, 401, 403), wrong.describe()
    assert name not in {t["name"] for t in session.list_tokens()}

    ok = session.create_token(name, "admin", password=alice.password)
    assert ok.status == 201, ok.describe()
    assert token_api(server.endpoint, ok.json()["token"]).whoami()["auth"]["accessToken"]["role"] == "admin"


def test_rename_shows_in_whoami(server, alice):
    account = account_of(server, alice)
    created = account.new_token(unique_name("before"), "read")
    new_name = unique_name("after")
    resp = account.rename_token(created["id"], new_name)
    assert resp.status == 200, resp.describe()
    assert resp.json()["name"] == new_name
    assert "token" not in resp.json() or resp.json()["token"] is None
    assert token_api(server.endpoint, created["token"]).whoami()["auth"]["accessToken"]["displayName"] == new_name
    assert find(account.list_tokens(), created["id"])["name"] == new_name


def test_refresh_replaces_the_secret_at_once(server, alice):
    account = account_of(server, alice)
    created = account.new_token(unique_name("rotating"), "write")
    old = created["token"]
    assert whoami_raw(server.endpoint, old).status == 200

    resp = account.refresh_token(created["id"])
    assert resp.status == 200, resp.describe()
    refreshed = resp.json()
    new = refreshed["token"]
    assert new.startswith("hf_") and new != old
    assert str(refreshed["id"]) == str(created["id"])
    assert refreshed["name"] == created["name"]
    assert refreshed["role"] == "write"

    stale = whoami_raw(server.endpoint, old)
    assert stale.status == 401, "the old secret must stop on the very next request"
    info = token_api(server.endpoint, new).whoami()
    assert info["auth"]["accessToken"]["displayName"] == created["name"]

    listing = account.get("/api/settings/tokens")
    assert new not in listing.text and old not in listing.text
    assert_masked(find(listing.json(), created["id"])["masked"], new)


def test_revoke_stops_the_token_on_the_next_request(server, alice):
    account = account_of(server, alice)
    created = account.new_token(unique_name("doomed"), "write")
    api = token_api(server.endpoint, created["token"])
    repo_id = alice.new_repo_id("revoked")
    api.create_repo(repo_id)

    resp = account.revoke_token(created["id"])
    assert resp.status == 200, resp.describe()
    assert whoami_raw(server.endpoint, created["token"]).status == 401
    with pytest.raises(HfHubHTTPError) as exc:
        api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo_id)
    assert exc.value.response.status_code == 401
    listed = find(account.list_tokens(), created["id"])
    assert listed is None or listed["state"] == "revoked"
    # The user's other tokens are untouched.
    assert alice.api.whoami()["name"] == alice.name


def test_nobody_manages_another_users_tokens(server, alice, bob):
    bobs = account_of(server, bob).new_token(unique_name("bobs"), "read")
    alices = account_of(server, alice)
    for resp in (
        alices.revoke_token(bobs["id"]),
        alices.refresh_token(bobs["id"]),
        alices.rename_token(bobs["id"], "hijacked"),
    ):
        assert resp.status in (403, 404), resp.describe()
    info = token_api(server.endpoint, bobs["token"]).whoami()
    assert info["name"] == bob.name
    assert info["auth"]["accessToken"]["displayName"] == bobs["name"]


@pytest.mark.parametrize("expires_at", ["2020-01-31", "2021-06-01T12:00:00Z"])
def test_an_expiry_in_the_past_is_refused(server, alice, expires_at):
    account = account_of(server, alice)
    name = unique_name("past")
    resp = account.create_token(name, "read", expires_at=expires_at)
    assert resp.status == 400, resp.describe()
    assert_mentions(resp.message, "expiresAt")
    assert name not in {t["name"] for t in account.list_tokens()}


def _within_day(shown: str | None, day: date) -> bool:
    """ASSUMPTION: a token that expires on a date is valid through that day (UTC); the server may show the
    expiry as that day's start or its end (the next midnight)."""
    if not shown:
        return False
    at = datetime.fromisoformat(shown.replace("Z", "+00:00"))
    start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    return start <= at <= start + timedelta(days=1)


def test_an_expiry_in_the_future_is_shown(server, alice):
    account = account_of(server, alice)
    day = datetime.now(timezone.utc).date() + timedelta(days=30)
    created = account.new_token(unique_name("dated"), "read", expires_at=day.isoformat())
    assert _within_day(created["expiresAt"], day), created
    assert _within_day(find(account.list_tokens(), created["id"])["expiresAt"], day)

    auth = token_api(server.endpoint, created["token"]).whoami()["auth"]
    shown = auth.get("expiresAt") or auth["accessToken"].get("expiresAt")
    assert _within_day(shown, day), auth


def test_an_expiry_timestamp_is_accepted(server, alice):
    account = account_of(server, alice)
    when = iso_in(7 * 24 * 3600)
    created = account.new_token(unique_name("stamped"), "read", expires_at=when)
    assert created["expiresAt"].startswith(when[:16]), created  # same minute, whatever the precision shown


@pytest.mark.parametrize("body, field", [({"role": "read"}, "name"), ({"name": "x", "role": "owner"}, "role")])
def test_invalid_token_requests_name_the_field(server, alice, body, field):
    resp = account_of(server, alice).post("/api/settings/tokens", body)
    assert resp.status == 400, resp.describe()
    assert_mentions(resp.message, field)


def test_an_access_token_cannot_manage_the_account(server, alice):
    for method, path, body in (
        ("GET", "/api/settings/tokens", None),
        ("POST", "/api/settings/tokens", {"name": unique_name("minted"), "role": "read"}),
        ("GET", "/api/account", None),
        ("GET", "/api/settings/audit-log", None),
    ):
        resp = request(method, server.endpoint + path, json=body, token=alice.admin_token)
        assert resp.status == 403, f"{method} {path}: {resp.describe()}"
        assert resp.error_code == "TokenNotAllowed", f"{method} {path}: {resp.describe()}"
    assert not any(t["name"].startswith("minted") for t in account_of(server, alice).list_tokens())


def test_account_routes_need_credentials(server, alice):
    assert request("GET", f"{server.endpoint}/api/settings/tokens").status == 401
    wrong = request("GET", f"{server.endpoint}/api/settings/tokens", basic=(alice.name, "not-the-password"))
    assert wrong.status == 401


@pytest.mark.timeout(600)
def test_at_most_500_live_tokens(server, make_user):
    user = make_user("hoarder")
    session = AccountClient.login(server.endpoint, user.name, user.password)
    started = time.monotonic()
    ids = []
    for i in range(MAX_LIVE_TOKENS):
        resp = session.create_token(f"bulk-{i}", "read")
        assert resp.status == 201, f"token {i + 1}: {resp.describe()}"
        ids.append(resp.json()["id"])
        if i == 49 and time.monotonic() - started > 60:
            pytest.skip("creating tokens takes over a second each here; 500 would take too long")

    over = session.create_token("one-too-many", "read")
    assert 400 <= over.status < 500 and over.status != 401, over.describe()
    assert_mentions(over.message, str(MAX_LIVE_TOKENS))

    # The cap counts live tokens: revoking one makes room.
    assert session.revoke_token(ids[0]).status == 200
    assert session.create_token("room-again", "read").status == 201
