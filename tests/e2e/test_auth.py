"""Tokens and whoami, as `HfApi.whoami()` and the Hub's error mapping see them."""

import json
import re
from datetime import datetime

import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from hangar_e2e import http, token_checksum, well_formed_unknown_token, with_one_letter_changed

INVALID_CREDENTIALS = "Invalid credentials in Authorization header"


def assert_rejected_token(endpoint: str, token: str) -> None:
    """The raw answer to a bad token: 401 with the Hub's exact message, which the client relies on."""
    resp = http("GET", f"{endpoint}/api/whoami-v2", token=token)
    assert resp.status == 401
    assert resp.headers.get("x-error-message") == INVALID_CREDENTIALS
    with pytest.raises(HfHubHTTPError) as exc:
        HfApi(endpoint=endpoint, token=token).whoami()
    assert exc.value.response.status_code == 401


def test_tokens_have_the_hub_shape_and_a_valid_checksum(alice):
    tokens = {alice.read_token, alice.write_token, alice.admin_token}
    assert len(tokens) == 3
    for token in tokens:
        assert re.fullmatch(r"hf_[A-Za-z]{34}", token), token
        assert token_checksum(token[3:32]) == token[32:]


def test_whoami_answers_the_hub_shape(alice):
    info = alice.api.whoami()
    assert info["type"] == "user"
    assert info["name"] == alice.name
    assert info["email"] == alice.email
    assert info["emailVerified"] is True
    assert info["orgs"] == []
    assert info["auth"]["type"] == "access_token"
    access = info["auth"]["accessToken"]
    assert access["displayName"] == alice.token_name("write")
    assert access["role"] == "write"
    created = datetime.fromisoformat(access["createdAt"].replace("Z", "+00:00"))
    assert created.tzinfo is not None


@pytest.mark.parametrize("role", ["read", "write", "admin"])
def test_whoami_reports_the_role_and_name_of_each_token(alice, role):
    api = {"read": alice.read_api, "write": alice.api, "admin": alice.admin_api}[role]
    access = api.whoami()["auth"]["accessToken"]
    assert access["role"] == role
    assert access["displayName"] == alice.token_name(role)


def test_two_users_are_told_apart(alice, bob):
    assert alice.api.whoami()["name"] == alice.name
    assert bob.read_api.whoami()["name"] == bob.name


def test_whoami_without_a_token_is_401(server):
    resp = http("GET", f"{server.endpoint}/api/whoami-v2")
    assert resp.status == 401


def test_a_token_with_one_letter_changed_is_rejected(server, alice):
    assert_rejected_token(server.endpoint, with_one_letter_changed(alice.write_token))


@pytest.mark.parametrize(
    "garbage",
    ["hf_short", "not-a-token", "hf_" + "a" * 34, "Bearer hf_x"],
    ids=["short", "no-prefix", "bad-checksum", "doubled-scheme"],
)
def test_malformed_tokens_are_rejected(server, garbage):
    assert_rejected_token(server.endpoint, garbage)


def test_a_well_formed_token_that_was_never_issued_is_rejected(server):
    assert_rejected_token(server.endpoint, well_formed_unknown_token())


def test_a_bad_token_is_an_error_even_on_a_public_repo(server, alice):
    """An invalid token is never downgraded to anonymous access, and the client must not read it as 'no repo'."""
    repo_id = alice.new_repo_id("public")
    alice.api.create_repo(repo_id)
    bad = HfApi(endpoint=server.endpoint, token=with_one_letter_changed(alice.read_token))
    with pytest.raises(HfHubHTTPError) as exc:
        bad.model_info(repo_id)
    assert exc.value.response.status_code == 401
    assert not isinstance(exc.value, RepositoryNotFoundError)
    assert INVALID_CREDENTIALS in str(exc.value)
    resp = http("HEAD", f"{server.endpoint}/{repo_id}/resolve/main/.gitattributes", token=bad.token)
    assert resp.status == 401
    assert resp.headers.get("x-error-message") == INVALID_CREDENTIALS


def test_a_revoked_token_fails_on_the_very_next_request(server, alice):
    assert alice.read_api.whoami()["name"] == alice.name
    server.revoke_token(alice.name, alice.token_name("read"))
    assert_rejected_token(server.endpoint, alice.read_token)
    # Only that token is gone.
    assert alice.api.whoami()["name"] == alice.name
    assert alice.admin_api.whoami()["name"] == alice.name


def test_a_revoked_token_can_no_longer_write(server, alice):
    repo_id = alice.new_repo_id()
    alice.api.create_repo(repo_id)
    server.revoke_token(alice.name, alice.token_name("write"))
    with pytest.raises(HfHubHTTPError) as exc:
        alice.api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo_id)
    assert exc.value.response.status_code == 401
    assert "x.txt" not in alice.admin_api.list_repo_files(repo_id)


def test_admin_token_create_json_output(server, alice):
    out = server.admin(
        "token", "create", "--user", alice.name, "--name", "ci-json", "--role", "read", "--json"
    )
    created = json.loads(out)
    assert created["name"] == "ci-json"
    assert created["role"] == "read"
    info = HfApi(endpoint=server.endpoint, token=created["token"]).whoami()
    assert info["name"] == alice.name
    assert info["auth"]["accessToken"]["displayName"] == "ci-json"
    assert info["auth"]["accessToken"]["role"] == "read"
