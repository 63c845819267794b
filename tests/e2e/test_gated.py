"""Gated repositories (docs/ACCESS.md "Gated repositories", hub-api.md section 8): the owner turns gating on with
the official client, users ask for access through the README's form, owners decide, and everyone gets the Hub's
errors (GatedRepoError) with a message for their situation."""

from __future__ import annotations

import itertools

import pytest
from huggingface_hub.errors import GatedRepoError, HfHubHTTPError

from access_helpers import account_of, assert_mentions, fine_grained, request, token_api
from hangar_e2e import unique_name

README = """---
license: mit
extra_gated_prompt: "You agree to share your contact information to access this model."
extra_gated_fields:
  Company: text
  Country: country
  Date of birth: date_picker
  Intended use:
    type: select
    options:
      - Research
      - Education
      - Commercial
  I agree to use this model for non-commercial use ONLY: checkbox
---
# A gated model
"""

# ASSUMPTION: values are sent as JSON under the field labels, as the Hub's form does; a ticked checkbox is `true`,
# a date is YYYY-MM-DD and a country is its English name.
VALID_FIELDS = {
    "Company": "Acme",
    "Country": "France",
    "Date of birth": "1990-01-31",
    "Intended use": "Research",
    "I agree to use this model for non-commercial use ONLY": True,
}
PAYLOAD = b"gated weights\n"


def _gated(user, mode: str = "manual", *, repo_type: str = "model") -> str:
    repo_id = user.new_repo_id("gated")
    user.api.create_repo(repo_id, repo_type=repo_type)
    for path, content in (("README.md", README.encode()), ("weights.bin", PAYLOAD)):
        user.api.upload_file(path_or_fileobj=content, path_in_repo=path, repo_id=repo_id, repo_type=repo_type)
    user.api.update_repo_settings(repo_id, gated=mode, repo_type=repo_type)
    return repo_id


@pytest.fixture
def gated_repo(alice) -> str:
    return _gated(alice, "manual")


def ask_access(endpoint: str, repo_id: str, token: str | None, fields: dict | None = None, *, prefix: str = ""):
    """POST /{repo}/ask-access with a JSON body, as a script would."""
    return request("POST", f"{endpoint}/{prefix}{repo_id}/ask-access", json=fields or {}, token=token)


_downloads = itertools.count()


def _download(api, repo_id: str, cache_dir, **kw) -> bytes:
    """Each call gets an empty cache: a file cached by an earlier call would otherwise be served when the HEAD
    request fails (and force_download turns the GatedRepoError into a ValueError)."""
    fresh = cache_dir / f"call-{next(_downloads)}"
    path = api.hf_hub_download(repo_id, "weights.bin", cache_dir=fresh, **kw)
    with open(path, "rb") as f:
        return f.read()


def _denied(api, repo_id: str, cache_dir, status: int = 403, **kw) -> str:
    """Asserts the download fails with GatedRepoError and `status`; returns the message the user sees."""
    with pytest.raises(GatedRepoError) as exc:
        _download(api, repo_id, cache_dir, **kw)
    assert exc.value.response.status_code == status, str(exc.value)
    return str(exc.value)


def test_gating_is_set_with_the_client_and_shown_in_model_info(alice, bob):
    repo_id = alice.new_repo_id("to-gate")
    alice.api.create_repo(repo_id)
    assert alice.api.model_info(repo_id).gated is False

    alice.api.update_repo_settings(repo_id, gated="manual")
    assert alice.api.model_info(repo_id).gated == "manual"
    assert bob.api.model_info(repo_id).gated == "manual", "a gated repo's card stays public"
    alice.api.update_repo_settings(repo_id, gated="auto")
    assert alice.api.model_info(repo_id).gated == "auto"
    alice.api.update_repo_settings(repo_id, gated=False)
    assert alice.api.model_info(repo_id).gated is False

    with pytest.raises(HfHubHTTPError) as exc:
        bob.admin_api.update_repo_settings(repo_id, gated="manual")
    assert exc.value.response.status_code == 403
    assert alice.api.model_info(repo_id).gated is False


def test_the_owner_downloads_without_asking(alice, gated_repo, cache_dir):
    assert _download(alice.read_api, gated_repo, cache_dir) == PAYLOAD


def test_anonymous_users_get_401_gated(anon, gated_repo, cache_dir):
    message = _denied(anon, gated_repo, cache_dir, status=401)
    assert gated_repo in message


def test_without_a_request_the_user_is_told_to_ask_for_access(bob, gated_repo, cache_dir):
    message = _denied(bob.api, gated_repo, cache_dir)
    assert_mentions(message, "ask", "access")
    with pytest.raises(GatedRepoError):
        bob.api.file_exists(gated_repo, "weights.bin")


@pytest.mark.parametrize(
    "case, field",
    [
        ("missing-text", "Company"),
        ("missing-country", "Country"),
        ("missing-date", "Date of birth"),
        ("missing-select", "Intended use"),
        ("invalid-select", "Intended use"),
        ("unticked-checkbox", "I agree to use this model for non-commercial use ONLY"),
    ],
)
def test_the_request_form_follows_the_readme(server, alice, bob, gated_repo, case, field):
    fields = dict(VALID_FIELDS)
    if case.startswith("missing"):
        del fields[field]
    elif case == "invalid-select":
        fields[field] = "World domination"
    else:
        fields[field] = False
    resp = ask_access(server.endpoint, gated_repo, bob.write_token, fields)
    assert resp.status == 400, resp.describe()
    assert_mentions(resp.message, field)
    assert list(alice.api.list_pending_access_requests(gated_repo)) == []


def test_manual_review_accept(server, mailbox, alice, bob, gated_repo, cache_dir):
    resp = ask_access(server.endpoint, gated_repo, bob.write_token, VALID_FIELDS)
    assert resp.status == 200, resp.describe()
    assert resp.json()["status"] == "pending"
    # Asking again while pending changes nothing.
    again = ask_access(server.endpoint, gated_repo, bob.write_token, VALID_FIELDS)
    assert again.status == 200 and again.json()["status"] == "pending", again.describe()

    pending = list(alice.api.list_pending_access_requests(gated_repo))
    assert [r.username for r in pending] == [bob.name]
    request_ = pending[0]
    assert request_.status == "pending"
    assert request_.email == bob.email
    assert request_.fields["Company"] == "Acme"
    assert request_.fields["Intended use"] == "Research"
    assert request_.request_id

    message = _denied(bob.api, gated_repo, cache_dir)
    assert "review" in message.lower() or "pending" in message.lower(), message

    owner_mail = mailbox.wait_for(alice.email, text=bob.name)
    assert_mentions(owner_mail.text, gated_repo)

    alice.api.accept_access_request(gated_repo, bob.name)
    assert _download(bob.api, gated_repo, cache_dir) == PAYLOAD
    assert [r.username for r in alice.api.list_accepted_access_requests(gated_repo)] == [bob.name]
    assert list(alice.api.list_pending_access_requests(gated_repo)) == []

    decision = mailbox.wait_for(bob.email, text=gated_repo)
    assert_mentions(decision.text, "accept")

    # The request and the decision are in the requester's audit log.
    events = [e for e in account_of(server, bob).audit_log().json() if e["event"].startswith("access_request.")]
    assert [e["event"] for e in events][:2] == ["access_request.decide", "access_request.create"]
    assert events[0]["detail"]["status"] == "accepted" and events[0]["actor"] == alice.name


def test_manual_review_reject_with_a_reason(server, mailbox, alice, bob, gated_repo, cache_dir):
    assert ask_access(server.endpoint, gated_repo, bob.write_token, VALID_FIELDS).status == 200
    reason = "Commercial users must sign the enterprise agreement"
    alice.api.reject_access_request(gated_repo, bob.name, rejection_reason=reason)

    message = _denied(bob.api, gated_repo, cache_dir)
    assert_mentions(message, "reject", reason)
    assert [r.username for r in alice.api.list_rejected_access_requests(gated_repo)] == [bob.name]

    retry = ask_access(server.endpoint, gated_repo, bob.write_token, VALID_FIELDS)
    assert retry.status == 403, retry.describe()
    assert [r.username for r in alice.api.list_rejected_access_requests(gated_repo)] == [bob.name]
    assert list(alice.api.list_pending_access_requests(gated_repo)) == []

    decision = mailbox.wait_for(bob.email, text=gated_repo)
    assert_mentions(decision.text, reason)


def test_a_decision_can_be_reverted(server, alice, bob, gated_repo, cache_dir):
    assert ask_access(server.endpoint, gated_repo, bob.write_token, VALID_FIELDS).status == 200
    alice.api.accept_access_request(gated_repo, bob.name)
    assert _download(bob.api, gated_repo, cache_dir) == PAYLOAD
    alice.api.cancel_access_request(gated_repo, bob.name)
    _denied(bob.api, gated_repo, cache_dir)
    assert [r.username for r in alice.api.list_pending_access_requests(gated_repo)] == [bob.name]


def test_auto_mode_accepts_at_once(server, alice, bob, cache_dir):
    repo_id = _gated(alice, "auto")
    _denied(bob.api, repo_id, cache_dir)
    resp = ask_access(server.endpoint, repo_id, bob.write_token, VALID_FIELDS)
    assert resp.status == 200, resp.describe()
    assert resp.json()["status"] == "accepted"
    assert _download(bob.api, repo_id, cache_dir) == PAYLOAD
    assert [r.username for r in alice.api.list_accepted_access_requests(repo_id)] == [bob.name]


def test_a_gated_dataset_takes_requests_under_datasets(server, alice, bob, cache_dir):
    repo_id = _gated(alice, "auto", repo_type="dataset")
    with pytest.raises(GatedRepoError):
        _download(bob.api, repo_id, cache_dir, repo_type="dataset")
    resp = ask_access(server.endpoint, repo_id, bob.write_token, VALID_FIELDS, prefix="datasets/")
    assert resp.status == 200, resp.describe()
    assert _download(bob.api, repo_id, cache_dir, repo_type="dataset") == PAYLOAD


def test_a_browser_form_is_redirected_to_the_repo_page(server, alice, bob, gated_repo):
    form = {k: ("on" if v is True else v) for k, v in VALID_FIELDS.items()}
    browser = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    resp = request(
        "POST", f"{server.endpoint}/{gated_repo}/ask-access", form=form, token=bob.write_token, headers=browser
    )
    assert resp.status == 303, resp.describe()
    assert resp.headers["location"].rstrip("/").endswith(f"/{gated_repo}")
    assert [r.username for r in alice.api.list_pending_access_requests(gated_repo)] == [bob.name]


def test_grant_access_without_a_request(alice, bob, gated_repo, cache_dir):
    _denied(bob.api, gated_repo, cache_dir)
    alice.api.grant_access(gated_repo, bob.name)
    assert _download(bob.api, gated_repo, cache_dir) == PAYLOAD
    assert bob.name in {r.username for r in alice.api.list_accepted_access_requests(gated_repo)}


def test_only_the_owner_handles_requests(server, alice, bob, make_user, gated_repo):
    carol = make_user("carol")
    assert ask_access(server.endpoint, gated_repo, carol.write_token, VALID_FIELDS).status == 200
    with pytest.raises(HfHubHTTPError) as exc:
        list(bob.api.list_pending_access_requests(gated_repo))
    assert exc.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as exc:
        bob.api.accept_access_request(gated_repo, carol.name)
    assert exc.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as exc:
        alice.read_api.accept_access_request(gated_repo, carol.name)
    assert exc.value.response.status_code == 403, "handling requests needs write access, not a read token"
    assert [r.username for r in alice.api.list_pending_access_requests(gated_repo)] == [carol.name]


def test_fine_grained_tokens_need_gated_access_explicitly(server, alice, bob, gated_repo, cache_dir):
    alice.api.grant_access(gated_repo, bob.name)
    assert _download(bob.api, gated_repo, cache_dir) == PAYLOAD

    # Accepted owner, but the token neither has canReadGatedRepos nor the repo in scope.
    narrow = account_of(server, bob).new_token(
        unique_name("narrow"), "fineGrained", fine_grained=fine_grained(("user", bob.name, ["repo.content.read"]))
    )
    message = _denied(token_api(server.endpoint, narrow["token"]), gated_repo, cache_dir)
    assert "canreadgatedrepos" in message.lower() or "scope" in message.lower(), message

    # The repo in scope is enough.
    scoped = account_of(server, bob).new_token(
        unique_name("scoped"), "fineGrained", fine_grained=fine_grained(("model", gated_repo, ["repo.content.read"]))
    )
    assert _download(token_api(server.endpoint, scoped["token"]), gated_repo, cache_dir) == PAYLOAD

    # So is canReadGatedRepos (operator CLI).
    broad = server.create_token(
        bob.name, unique_name("broad"), "fineGrained", "--permission", f"user:{bob.name}=repo.content.read",
        "--can-read-gated-repos",
    )
    assert _download(token_api(server.endpoint, broad), gated_repo, cache_dir) == PAYLOAD


def test_can_read_gated_repos_does_not_bypass_the_gate(server, alice, bob, gated_repo, cache_dir):
    token = account_of(server, bob).new_token(
        unique_name("broad"), "fineGrained", fine_grained=fine_grained(can_read_gated_repos=True)
    )["token"]
    message = _denied(token_api(server.endpoint, token), gated_repo, cache_dir)
    assert_mentions(message, "access")
