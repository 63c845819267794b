"""Bad input anywhere in the account, token, organization, gated-access and leak routes gets a clear 4xx,
never a 500: every route below receives malformed and mistyped bodies with each kind of credentials."""

from __future__ import annotations

import base64
import json

import pytest

from hangar_e2e import http

ROUTES = [
    ("POST", "/api/signup"),
    ("POST", "/api/login"),
    ("POST", "/api/password/forgot"),
    ("POST", "/api/password/reset"),
    ("POST", "/api/account/email"),
    ("POST", "/api/account/resend-verification"),
    ("POST", "/api/settings/tokens"),
    ("PATCH", "/api/settings/tokens/1"),
    ("PATCH", "/api/settings/tokens/not-a-number"),
    ("POST", "/api/settings/tokens/99999999/refresh"),
    ("DELETE", "/api/settings/tokens/-1"),
    ("GET", "/api/settings/audit-log?limit=-5"),
    ("GET", "/api/settings/audit-log?before=abc"),
    ("POST", "/api/organizations/new"),
    ("PUT", "/api/organizations/{user}/members/{user}"),
    ("PUT", "/api/organizations/no-such-org/settings/token-policy"),
    ("POST", "/api/organizations/no-such-org/settings/token-approvals/x"),
    ("POST", "/api/organizations/no-such-org/settings/tokens"),
    ("POST", "/api/credentials/revoke"),
    ("POST", "/{repo}/ask-access"),
    ("POST", "/api/models/{repo}/user-access-request/handle"),
    ("POST", "/api/models/{repo}/user-access-request/grant"),
    ("GET", "/api/models/{repo}/user-access-request/weird"),
    ("PUT", "/api/models/{repo}/settings"),
    ("GET", "/email/verify"),
    ("GET", "/email/verify?code=%FF%FE"),
    ("POST", "/password/reset"),
]

BODIES = [
    b"",
    b"null",
    b"[]",
    b"not json",
    b'{"x": 1}',
    json.dumps(
        {"name": 123, "role": [], "email": {}, "password": 1, "username": None, "credentials": "x", "gated": {"a": 1},
         "status": 5, "user": 7, "fineGrained": "x", "expiresAt": 5, "code": 1, "policy": [], "state": {}}
    ).encode(),
    json.dumps({"name": "a", "role": "fineGrained",
                "fineGrained": {"scoped": [{"entity": {"type": "model", "name": "../../x"}, "permissions": ["repo.write"]}]}}).encode(),
    json.dumps({"name": "a" * 3000, "role": "read", "expiresAt": "9999-99-99"}).encode(),
    json.dumps({"credentials": ["hf_x"] * 1001}).encode(),
]


@pytest.fixture(scope="module")
def target(make_user):
    user = make_user("badinput")
    repo = user.new_repo_id("gated")
    user.api.create_repo(repo)
    user.api.update_repo_settings(repo, gated="manual")
    return user, repo


@pytest.mark.parametrize("method,path", ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_no_route_answers_500_to_bad_input(server, target, method, path):
    user, repo = target
    url = server.endpoint + path.replace("{repo}", repo).replace("{user}", user.name)
    basic = "Basic " + base64.b64encode(f"{user.name}:{user.password}".encode()).decode()
    credentials = [{}, {"Authorization": f"Bearer {user.admin_token}"}, {"Authorization": basic}]
    for headers in credentials:
        for body in BODIES:
            for ctype in ("application/json", "application/x-www-form-urlencoded"):
                resp = http(method, url, headers={**headers, "Content-Type": ctype}, body=body or None)
                assert resp.status < 500, f"{method} {path} answered {resp.status} to {body[:80]!r} ({ctype}): {resp.body[:300]!r}"
                if resp.status >= 400:
                    assert resp.headers.get("x-error-message") or resp.body, "a refusal says why"
