"""Brute-force throttling (docs/ACCESS.md "Brute force"): past 20 failed authentications from one address in five
minutes, further failures and password attempts get 429 with Retry-After, while valid tokens keep working.

Every test runs its own server: all requests come from 127.0.0.1, and locking that address out on the session
server would break every other test."""

from __future__ import annotations

import pytest

from access_helpers import request, start_private_server, token_api, whoami_raw
from hangar_e2e import unique_name, well_formed_unknown_token

LIMIT = 20
WINDOW_SECS = 300


@pytest.fixture
def locked_server(tmp_path):
    """A private server with one verified user who has a write token and a private repo."""
    srv = start_private_server(tmp_path)
    srv.user = unique_name("target")
    srv.password = "the-right-password"
    srv.create_user(srv.user, f"{srv.user}@example.test", srv.password)
    srv.token = srv.create_token(srv.user, "valid", "write")
    srv.repo = f"{srv.user}/private"
    token_api(srv.endpoint, srv.token).create_repo(srv.repo, private=True)
    yield srv
    srv.stop()


def _password_attempt(srv, password: str):
    return request("GET", f"{srv.endpoint}/api/account", basic=(srv.user, password))


def _assert_throttled(resp) -> None:
    assert resp.status == 429, resp.describe()
    retry_after = resp.headers.get("retry-after")
    assert retry_after is not None and retry_after.isdigit(), f"Retry-After: {retry_after!r}"
    assert 0 < int(retry_after) <= WINDOW_SECS


def _assert_valid_token_still_works(srv) -> None:
    resp = whoami_raw(srv.endpoint, srv.token)
    assert resp.status == 200, resp.describe()
    api = token_api(srv.endpoint, srv.token)
    assert api.model_info(srv.repo).private is True
    api.upload_file(path_or_fileobj=b"still here\n", path_in_repo="still.txt", repo_id=srv.repo)


def test_wrong_passwords_lock_the_address_out(locked_server):
    srv = locked_server
    assert _password_attempt(srv, srv.password).status == 200
    for i in range(LIMIT):
        resp = _password_attempt(srv, f"guess-{i}")
        assert resp.status == 401, f"failure {i + 1} of {LIMIT}: {resp.describe()}"

    # The 21st attempt is refused even with the right password.
    _assert_throttled(_password_attempt(srv, srv.password))
    _assert_throttled(_password_attempt(srv, "guess-again"))
    login = request("POST", f"{srv.endpoint}/api/login", json={"username": srv.user, "password": srv.password})
    _assert_throttled(login)

    _assert_valid_token_still_works(srv)


def test_unknown_tokens_count_as_failures(locked_server):
    srv = locked_server
    for i in range(LIMIT):
        resp = whoami_raw(srv.endpoint, well_formed_unknown_token())
        assert resp.status == 401, f"failure {i + 1} of {LIMIT}: {resp.describe()}"

    _assert_throttled(whoami_raw(srv.endpoint, well_formed_unknown_token()))
    _assert_throttled(_password_attempt(srv, srv.password))
    _assert_valid_token_still_works(srv)
    # Anonymous reads of public data carry no credentials to fail: they are not throttled.
    assert request("GET", f"{srv.endpoint}/api/models").status == 200
