"""Expiring tokens: the owner is mailed 3 days before a token expires (the session server runs that job every
second), and an expired token is refused with a message saying so."""

from __future__ import annotations

from access_helpers import account_of, assert_mentions, iso_in, poll, whoami_raw
from hangar_e2e import unique_name

DAY = 24 * 3600


def test_a_token_expiring_within_three_days_is_announced_by_mail_once(server, mailbox, make_user):
    user = make_user("expiring")
    account = account_of(server, user)
    first = account.new_token(f"{unique_name('soon')}-first", "read", expires_at=iso_in(2 * DAY))
    # Far from its expiry: no warning for this one.
    later = account.new_token(f"{unique_name('later')}-later", "read", expires_at=iso_in(30 * DAY))

    mail = mailbox.wait_for(user.email, text=first["name"])
    assert_mentions(mail.text, "expire")
    assert first["token"] not in mail.body, "a mail never carries the secret"

    # Barrier: a second token expiring soon is announced by a later run of the job; by then the first token
    # must still have had exactly one warning, and the far one none.
    second = account.new_token(f"{unique_name('soon')}-second", "read", expires_at=iso_in(2 * DAY))
    mailbox.wait_for(user.email, text=second["name"])
    mails = mailbox.to(user.email)
    assert len([m for m in mails if first["name"] in m.text]) == 1, [m.subject for m in mails]
    assert not [m for m in mails if later["name"] in m.text]


def test_a_token_made_with_expires_in_days_is_announced(server, mailbox, make_user):
    user = make_user("cli-expiring")
    name = unique_name("cli-soon")
    server.create_token(user.name, name, "read", "--expires-in-days", "2")
    mail = mailbox.wait_for(user.email, text=name)
    assert_mentions(mail.text, "expire")


def test_an_expired_token_is_refused_with_a_message_saying_so(server, alice):
    account = account_of(server, alice)
    created = account.new_token(unique_name("ephemeral"), "read", expires_at=iso_in(4))
    assert whoami_raw(server.endpoint, created["token"]).status == 200

    resp = poll(
        lambda: (r := whoami_raw(server.endpoint, created["token"])).status != 200 and r,
        timeout=20,
        interval=0.25,
        what="the token to expire",
    )
    assert resp.status == 401, resp.describe()
    assert_mentions(resp.message, "expired")

    listed = next(t for t in account.list_tokens() if str(t["id"]) == str(created["id"]))
    assert listed["state"] == "expired"
    assert alice.api.whoami()["name"] == alice.name

    # The background job records the expiry in the owner's audit log.
    def expiry_event():
        events = account.audit_log().json()
        return next((e for e in events if e["event"] == "token.expire" and str(e["detail"].get("tokenId")) == str(created["id"])), None)

    event = poll(expiry_event, timeout=10, what="the token.expire audit event")
    assert event["actor"] == "system"
