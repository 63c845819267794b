"""Leaked tokens (docs/ACCESS.md "Leaks"): the public revocation endpoint, and secret scanning of commits, which
revokes tokens pushed to public repos and warns about tokens pushed to private ones. Owners are mailed."""

from __future__ import annotations

import base64
import json

from access_helpers import account_of, assert_mentions, request, whoami_raw
from hangar_e2e import unique_name, well_formed_unknown_token


def _token(server, user, label: str) -> tuple[str, str]:
    """A fresh read token of `user`: (name, secret). Names end with a distinct label so that no name is a
    prefix of another in the mails."""
    name = f"{unique_name('leak')}-{label}"
    return name, server.create_token(user.name, name, "read")


def _revoke(server, credentials: list[str]):
    return request("POST", f"{server.endpoint}/api/credentials/revoke", json={"credentials": credentials})


def _commit(server, token: str, repo_id: str, path: str, content: bytes):
    """A raw NDJSON commit (hub-api.md 7.5), to see the response headers the client hides."""
    lines = [
        {"key": "header", "value": {"summary": f"Add {path}", "description": ""}},
        {"key": "file", "value": {"content": base64.b64encode(content).decode(), "path": path, "encoding": "base64"}},
    ]
    body = "".join(json.dumps(line) + "\n" for line in lines).encode()
    return request(
        "POST",
        f"{server.endpoint}/api/models/{repo_id}/commit/main",
        body=body,
        token=token,
        headers={"Content-Type": "application/x-ndjson"},
    )


def _leak_mail(mailbox, user, token_name: str):
    mail = mailbox.wait_for(user.email, text=token_name)
    # ASSUMPTION: a leak mail names the token, so the owner knows which one was revoked.
    return mail


def test_revoke_endpoint_revokes_listed_tokens_and_mails_each_owner_once(server, mailbox, alice, bob):
    first_name, first = _token(server, alice, "first")
    second_name, second = _token(server, alice, "second")
    bobs_name, bobs = _token(server, bob, "bob")
    assert whoami_raw(server.endpoint, first).status == 200

    resp = _revoke(server, [first, "garbage", second, well_formed_unknown_token(), first, bobs])
    assert resp.status == 202, resp.describe()

    for token in (first, second, bobs):
        assert whoami_raw(server.endpoint, token).status == 401
    assert alice.api.whoami()["name"] == alice.name, "tokens not in the list keep working"
    assert bob.api.whoami()["name"] == bob.name

    mail = mailbox.wait_for(alice.email, text=first_name)
    assert_mentions(mail.text, second_name)
    mailbox.wait_for(bob.email, text=bobs_name)

    # Barrier: a later revocation's mail arrives after any mail the first request caused.
    third_name, third = _token(server, alice, "third")
    assert _revoke(server, [third]).status == 202
    mailbox.wait_for(alice.email, text=third_name)
    assert len(mailbox.to(alice.email)) == 2, [m.subject for m in mailbox.to(alice.email)]

    listed = {t["name"]: t for t in account_of(server, alice).list_tokens()}
    for name in (first_name, second_name):
        assert name not in listed or listed[name]["state"] == "revoked"

    # Each revocation is in the owner's audit log as a leak, without the secret.
    log = account_of(server, alice).audit_log()
    leaked = {e["detail"]["name"] for e in log.json() if e["event"] == "token.leak"}
    assert {first_name, second_name, third_name} <= leaked
    assert first not in log.text and second not in log.text


def test_revoke_endpoint_needs_no_authentication_and_always_answers_202(server):
    assert _revoke(server, []).status == 202
    assert _revoke(server, ["garbage", well_formed_unknown_token()]).status == 202


def test_a_token_pushed_to_a_public_repo_is_revoked(server, mailbox, alice):
    name, leaked = _token(server, alice, "public")
    repo_id = alice.new_repo_id("public-leak")
    alice.api.create_repo(repo_id)
    alice.api.upload_file(
        path_or_fileobj=f"# config\nHF_TOKEN={leaked}\n".encode(), path_in_repo="notes.txt", repo_id=repo_id
    )

    assert whoami_raw(server.endpoint, leaked).status == 401
    assert alice.api.whoami()["name"] == alice.name, "the token that pushed is not the leaked one"
    mail = _leak_mail(mailbox, alice, name)
    assert_mentions(mail.text, repo_id)


def test_a_token_of_someone_else_pushed_to_a_public_repo_is_revoked_and_its_owner_mailed(server, mailbox, alice, bob):
    name, leaked = _token(server, bob, "bobs")
    repo_id = alice.new_repo_id("someone-elses")
    alice.api.create_repo(repo_id)
    alice.api.upload_file(path_or_fileobj=f"token: {leaked}\n".encode(), path_in_repo="leak.txt", repo_id=repo_id)
    assert whoami_raw(server.endpoint, leaked).status == 401
    _leak_mail(mailbox, bob, name)


def test_a_token_pushed_to_a_private_repo_is_kept_with_a_warning_until_the_repo_turns_public(server, mailbox, alice):
    name, leaked = _token(server, alice, "private")
    repo_id = alice.new_repo_id("private-leak")
    alice.api.create_repo(repo_id, private=True)

    resp = _commit(server, alice.write_token, repo_id, "secrets/env.txt", f"HF_TOKEN={leaked}\n".encode())
    assert resp.status == 200, resp.describe()
    assert resp.json()["commitOid"]
    warning = resp.headers.get("x-hf-warning")
    assert warning, f"no X-HF-Warning on the commit: {resp.headers}"
    assert "secrets/env.txt" in warning
    assert leaked not in warning, "the warning must not repeat the secret"
    assert "secrets/env.txt" in alice.api.list_repo_files(repo_id)
    assert whoami_raw(server.endpoint, leaked).status == 200, "a private repo is no leak"

    alice.api.update_repo_settings(repo_id, private=False)
    assert whoami_raw(server.endpoint, leaked).status == 401
    mail = _leak_mail(mailbox, alice, name)
    assert_mentions(mail.text, repo_id)


def test_a_dead_token_in_a_commit_raises_no_warning(server, alice):
    name, token = _token(server, alice, "dead")
    server.revoke_token(alice.name, name)
    repo_id = alice.new_repo_id("dead-token")
    alice.api.create_repo(repo_id, private=True)
    resp = _commit(server, alice.write_token, repo_id, "old.txt", f"HF_TOKEN={token}\n".encode())
    assert resp.status == 200, resp.describe()
    assert "old.txt" not in (resp.headers.get("x-hf-warning") or "")
