"""Secrets never reach the server's logs: not tokens, not passwords, not upload URL signatures, not emails.

A dedicated server logs at the most verbose level while a token is used for reads, a failed request with a
mistyped token, a small upload and an LFS multipart upload (whose URLs carry signatures); the whole log is
then searched for each secret.
"""

from __future__ import annotations

import re

import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

from hangar_e2e import MIB, HangarServer, http, database_url, free_port, hangar_bin, unique_name, with_one_letter_changed, write_random_file


@pytest.fixture
def verbose_server(tmp_path, monkeypatch):
    monkeypatch.setenv("HANGAR_LOG", "trace")
    srv = HangarServer(hangar_bin(), tmp_path / "data", free_port(), database_url(), tmp_path / "server.log")
    yield srv
    srv.stop()


def test_no_secret_appears_in_the_server_log(verbose_server, tmp_path):
    srv = verbose_server
    user = unique_name("logs")
    password = "a-Password-that-must-stay-secret"
    email = f"{user}@example.test"
    srv.create_user(user, email, password)
    token = srv.create_token(user, "log-check", "write")
    srv.start()

    api = HfApi(endpoint=srv.endpoint, token=token)
    repo = f"{user}/logged"
    api.create_repo(repo, private=True)
    api.upload_file(path_or_fileobj=b"small\n", path_in_repo="small.txt", repo_id=repo)
    big = write_random_file(tmp_path / "big.bin", 11 * MIB)
    api.upload_file(path_or_fileobj=str(big.path), path_in_repo="big.bin", repo_id=repo)
    api.hf_hub_download(repo, "big.bin", cache_dir=tmp_path / "cache")
    with pytest.raises(HfHubHTTPError):
        HfApi(endpoint=srv.endpoint, token=with_one_letter_changed(token)).whoami()
    # A Xet token, used on the CAS server (with the client's default settings the upload above used one too).
    xet = http("GET", f"{srv.endpoint}/api/models/{repo}/xet-read-token/main", token=token).json()
    assert http("GET", f"{xet['casUrl']}/v1/chunks/default/{'0' * 64}", token=xet["accessToken"]).status == 404
    srv.stop()

    log = srv.log_path.read_text(errors="replace")
    assert "request" in log and len(log) > 1000, "the server logged almost nothing; the check would be vacuous"
    assert token not in log
    assert token[3:20] not in log, "a fragment of the token was logged"
    assert with_one_letter_changed(token)[3:20] not in log
    assert password not in log
    assert email not in log
    # Signed LFS URLs were handed out and used: none of their signatures may be logged.
    assert not re.search(r"sig=[0-9a-f]{16}", log), "an upload URL signature was logged"
    assert xet["accessToken"].rsplit(".", 1)[1][:16] not in log, "a Xet token was logged"


def test_account_flows_keep_passwords_tokens_and_emails_out_of_the_log(verbose_server):
    """Sign-up, log-in, the token API (create, refresh) and a leak report, all at trace level."""
    import base64
    import json as _json

    from hangar_e2e import http

    srv = verbose_server
    srv.start()
    user = unique_name("acct-logs")
    password = "Another-password-kept-secret"
    local_part = unique_name("private-address")
    email = f"{local_part}@example.test"  # unlike the user name (which is logged), never logged
    body = _json.dumps({"username": user, "email": email, "password": password}).encode()
    r = http("POST", f"{srv.endpoint}/api/signup", body=body, headers={"Content-Type": "application/json"})
    assert r.status == 201, r.body
    # Verify through the outbox (no SMTP here): the link is logged on purpose, and used once.
    import time

    deadline = time.monotonic() + 10
    link = None
    while link is None and time.monotonic() < deadline:  # the mail is written in the background
        link = re.search(rb"(http://[^\s\"]+/email/verify\?code=[A-Za-z0-9_-]+)", srv.log_path.read_bytes())
        time.sleep(0.05)
    assert link, "the outbox mail's link is in the log"
    assert http("GET", link.group(1).decode()).status == 200
    basic = {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode(), "Content-Type": "application/json"}
    r = http("POST", f"{srv.endpoint}/api/login", body=_json.dumps({"username": user, "password": password}).encode(), headers={"Content-Type": "application/json"})
    assert r.status == 200
    cookie = r.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    r = http("POST", f"{srv.endpoint}/api/settings/tokens", body=_json.dumps({"name": "t", "role": "write"}).encode(), headers=basic)
    assert r.status == 201, r.body
    created = r.json()
    refreshed = http("POST", f"{srv.endpoint}/api/settings/tokens/{created['id']}/refresh", headers=basic).json()["token"]
    assert HfApi(endpoint=srv.endpoint, token=refreshed).whoami()["name"] == user
    r = http("POST", f"{srv.endpoint}/api/credentials/revoke", body=_json.dumps({"credentials": [refreshed]}).encode(), headers={"Content-Type": "application/json"})
    assert r.status == 202
    srv.stop()

    log = srv.log_path.read_text(errors="replace")
    assert email not in log and local_part not in log, "an email address reached the log"
    for secret in (password, created["token"], refreshed, cookie):
        assert secret not in log, "a secret reached the log"
        assert secret[3:20] not in log, "a fragment of a secret reached the log"
