"""The audit log (docs/ACCESS.md "Audit log"): an account's security events, newest first, without secrets; an
organization's log for its admins only."""

from __future__ import annotations

from access_helpers import AccountClient, account_of, new_org, set_member
from hangar_e2e import unique_name

EVENT_KEYS = {"id", "at", "actor", "event", "detail", "ip"}


def events_of(resp) -> list[dict]:
    """ASSUMPTION: the log is a JSON array of events; an object holding them under "events" is accepted too."""
    body = resp.json()
    return body["events"] if isinstance(body, dict) else body


def _first_index(events: list[dict], name: str) -> int:
    for i, e in enumerate(events):
        if e["event"] == name:
            return i
    raise AssertionError(f"no {name} event in {[e['event'] for e in events]}")


def test_token_and_login_events_are_logged_newest_first_without_secrets(server, make_user):
    user = make_user("audited")
    account = account_of(server, user)
    created = account.new_token(unique_name("audited"), "write")
    refreshed = account.refresh_token(created["id"]).json()
    assert account.revoke_token(created["id"]).status == 200
    AccountClient.login(server.endpoint, user.name, user.password)

    resp = account.audit_log()
    assert resp.status == 200, resp.describe()
    events = events_of(resp)
    order = [_first_index(events, e) for e in ("login", "token.revoke", "token.refresh", "token.create")]
    assert order == sorted(order), f"not newest first: {[e['event'] for e in events]}"

    ids = [e["id"] for e in events]
    assert ids == sorted(ids, reverse=True)
    assert len(set(map(str, ids))) == len(ids)
    for e in events:
        assert EVENT_KEYS <= set(e), e
    create = events[_first_index(events, "token.create")]
    assert create["actor"] == user.name
    assert created["name"] in str(create["detail"])
    assert events[_first_index(events, "login")]["ip"] == "127.0.0.1"

    for token in (created["token"], refreshed["token"]):
        assert token not in resp.text
        assert token[3:20] not in resp.text, "a fragment of a token secret is in the log"
    assert user.password not in resp.text


def test_the_audit_log_pages_with_before_and_limit(server, make_user):
    user = make_user("paged")
    account = account_of(server, user)
    for i in range(3):
        account.new_token(f"page-{i}", "read")
    everything = events_of(account.audit_log())
    assert len(everything) >= 3

    first_page = events_of(account.audit_log(limit=2))
    assert [e["id"] for e in first_page] == [e["id"] for e in everything[:2]]
    next_page = events_of(account.audit_log(before=first_page[-1]["id"], limit=2))
    assert [e["id"] for e in next_page] == [e["id"] for e in everything[2:4]]


def test_a_failed_login_is_logged_without_the_attempted_password(server, make_user):
    user = make_user("targeted")
    guess = "a-wrong-guess-of-the-password"
    resp = AccountClient(server.endpoint).post("/api/login", {"username": user.name, "password": guess}, csrf=False)
    assert resp.status == 401
    log = account_of(server, user).audit_log()
    failed = events_of(log)[_first_index(events_of(log), "login.failed")]
    assert failed["ip"] == "127.0.0.1"
    assert guess not in log.text


def test_users_see_only_their_own_events(server, alice, bob):
    name = unique_name("alices-secret-token-name")
    account_of(server, alice).new_token(name, "read")
    assert name not in account_of(server, bob).audit_log().text


def test_org_admins_see_the_org_log_and_members_do_not(server, alice, bob, make_user):
    carol = make_user("carol")
    org = new_org(server, alice, unique_name("audited-org"))
    set_member(server, alice, org, bob, "read")
    assert account_of(server, alice).set_token_policy(org, "fine_grained_only").status == 200

    resp = account_of(server, alice).org_audit_log(org)
    assert resp.status == 200, resp.describe()
    events = events_of(resp)
    order = [_first_index(events, e) for e in ("org.token_policy", "org.member.set")]
    assert order == sorted(order), [e["event"] for e in events]
    member_set = events[_first_index(events, "org.member.set")]
    assert member_set["actor"] == alice.name
    assert bob.name in str(member_set["detail"])
    assert alice.password not in resp.text

    assert account_of(server, bob).org_audit_log(org).status == 403, "a member who is not an admin"
    assert account_of(server, carol).org_audit_log(org).status == 403, "a stranger"
