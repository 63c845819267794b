"""Organization invitations, the organization token pages and site administration, through the web UI
(docs/WEB.md "Organizations" and "Site administration", docs/ACCESS.md "Invitations" and "Disabled accounts").

Each person is a browser without a browser (http_browser.Browser): signed in through /login, reading the forms of
each page and submitting them as they are (hidden `csrf` included). What the tests check is what people notice:
pages, notices, mails, and what their tokens can do afterwards with the official client.
"""

from __future__ import annotations

import re

import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

from access_helpers import AccountClient, account_of, new_org, set_member, whoami_raw
from hangar_e2e import unique_name
from http_browser import Browser, form_in, notice_text, row, signed_in


def orgs_of(server, token: str) -> dict[str, str]:
    """{org: roleInOrg} from /api/whoami-v2 with `token`."""
    resp = whoami_raw(server.endpoint, token)
    assert resp.status == 200, resp.describe()
    return {o["name"]: o.get("roleInOrg") for o in resp.json().get("orgs", [])}


def members_url(org: str) -> str:
    return f"/organizations/{org}/settings/members"


def invite(admin: Browser, org: str, username: str, role: str):
    """Fills the invitation form of the members page; answers the page the browser ends on."""
    page = admin.get(members_url(org))
    assert page.status == 200, page.describe()
    form = page.form("user", "role", button="Invite")
    return admin.submit(form, {"user": username, "role": role}, button="Invite")


def pending_invitations(admin: Browser, org: str) -> list[str]:
    """The texts of the rows of the org's pending invitations, as its admin sees them."""
    page = admin.get(members_url(org))
    assert page.status == 200, page.describe()
    table = page.dom.by_id("pending-invitations")
    return [] if table is None else [tr.text for tr in table.find_all("tr")]


def my_invitation(browser: Browser, org: str):
    page = browser.get("/settings/organizations")
    assert page.status == 200, page.describe()
    return page, row(page, "invitations", "data-org", org)


@pytest.fixture
def org(server, alice) -> str:
    """An organization whose admin is alice."""
    return new_org(server, alice, unique_name("org"))


# --- invitations ---------------------------------------------------------------------------------------------------


def test_an_invited_user_is_mailed_and_joins_by_accepting(server, mailbox, alice, bob, org):
    admin = signed_in(server.endpoint, alice)
    sent = invite(admin, org, bob.name, "write")
    assert sent.status == 200 and sent.url.startswith(members_url(org)), sent.describe()
    assert "Invitation sent" in notice_text(sent), sent.main_text
    pending = pending_invitations(admin, org)
    assert any(bob.name in r and "write" in r for r in pending), pending
    assert org not in orgs_of(server, bob.read_token), "an invitation alone made bob a member"

    mail = mailbox.wait_for(bob.email, org)
    assert "write" in mail.body and alice.name in mail.body, mail.body
    assert any(link.endswith("/settings/organizations") and link.startswith(server.endpoint) for link in mail.links), mail.links

    invitee = signed_in(server.endpoint, bob)
    page, invitation = my_invitation(invitee, org)
    assert invitation is not None, f"bob does not see the invitation to {org}: {page.main_text}"
    assert "write" in invitation.text and alice.name in invitation.text, invitation.text
    joined = invitee.submit(form_in(page, invitation, "Accept"))
    assert joined.status == 200, joined.describe()
    assert "You joined" in notice_text(joined), joined.main_text
    assert row(joined, "invitations", "data-org", org) is None, "the accepted invitation is still offered"
    assert org in joined.main_text, "the organization is not listed under Member of"

    assert orgs_of(server, bob.read_token) == {org: "write"}
    # The admin sees bob among the members, with the invited role, and no pending invitation left.
    members = admin.get(members_url(org))
    member = row(members, "members", "data-member", bob.name)
    assert member is not None, members.main_text
    selected = member.find("option", lambda n: n.has("selected"))
    assert selected is not None and selected.get("value") == "write", member.text
    assert pending_invitations(admin, org) == []
    # The write role works: bob's classic write token can create a repo in the organization.
    bob.api.create_repo(f"{org}/{unique_name('joined')}")


def test_declining_an_invitation_removes_it_without_membership(server, mailbox, alice, bob, org):
    admin = signed_in(server.endpoint, alice)
    assert invite(admin, org, bob.name, "read").status == 200
    mailbox.wait_for(bob.email, org)

    invitee = signed_in(server.endpoint, bob)
    page, invitation = my_invitation(invitee, org)
    assert invitation is not None, page.main_text
    declined = invitee.submit(form_in(page, invitation, "Decline"))
    assert declined.status == 200, declined.describe()
    assert "declined" in notice_text(declined).lower(), declined.main_text
    assert row(declined, "invitations", "data-org", org) is None
    assert org not in orgs_of(server, bob.read_token)
    assert pending_invitations(admin, org) == []
    assert row(admin.get(members_url(org)), "members", "data-member", bob.name) is None

    # The answer cannot be changed afterwards: the old Accept button leads nowhere.
    accepted_late = invitee.submit(form_in(page, invitation, "Accept"))
    assert accepted_late.status == 404, accepted_late.describe()
    assert org not in orgs_of(server, bob.read_token)


def test_a_withdrawn_invitation_disappears(server, alice, bob, org):
    admin = signed_in(server.endpoint, alice)
    assert invite(admin, org, bob.name, "admin").status == 200
    invitee = signed_in(server.endpoint, bob)
    offered, invitation = my_invitation(invitee, org)
    assert invitation is not None, offered.main_text

    members = admin.get(members_url(org))
    table = members.dom.by_id("pending-invitations")
    assert table is not None, members.main_text
    withdrawn = admin.submit(form_in(members, table.find("tr", lambda n: bob.name in n.text), "Withdraw"))
    assert withdrawn.status == 200, withdrawn.describe()
    assert pending_invitations(admin, org) == []

    page, invitation_now = my_invitation(invitee, org)
    assert invitation_now is None, f"bob still sees a withdrawn invitation: {page.main_text}"
    late = invitee.submit(form_in(offered, invitation, "Accept"))
    assert late.status == 404, late.describe()
    assert org not in orgs_of(server, bob.read_token)


def test_invitation_mistakes_are_shown_on_the_form(server, make_user, alice, bob, org):
    admin = signed_in(server.endpoint, alice)
    ghost = unique_name("nobody")
    shown = invite(admin, org, ghost, "write")
    assert shown.status == 422, shown.describe()
    error = shown.field_error("user")
    assert error is not None and ghost in error.text, shown.main_text
    assert shown.input_value("user") == ghost, "the form does not keep what was typed"

    member = make_user("member")
    set_member(server, alice, org, member, "read")
    shown = invite(admin, org, member.name, "write")
    assert shown.status == 422, shown.describe()
    error = shown.field_error("user")
    assert error is not None and "already a member" in error.text, shown.main_text
    assert orgs_of(server, member.read_token) == {org: "read"}, "a refused invitation changed the member's role"

    assert invite(admin, org, bob.name, "read").status == 200
    twice = invite(admin, org, bob.name, "write")
    assert twice.status == 422, twice.describe()
    assert twice.field_error("user") is not None and "already invited" in twice.field_error("user").text, twice.main_text

    pending = pending_invitations(admin, org)
    assert len(pending) == 1 and bob.name in pending[0] and "read" in pending[0], pending


def test_only_org_admins_open_the_members_page(server, make_user, alice, bob, org):
    member = make_user("writer")
    set_member(server, alice, org, member, "write")
    as_member = signed_in(server.endpoint, member)
    page = as_member.get(members_url(org))
    assert page.status == 403, page.describe()
    assert bob.name not in page.main_text
    assert as_member.get(f"/organizations/{org}/settings/tokens").status == 403
    # Nor can a member post the invitation form (with their own, valid csrf).
    csrf = as_member.get("/settings/tokens").csrf()
    posted = as_member.post(members_url(org), [("csrf", csrf), ("action", "invite"), ("user", bob.name), ("role", "admin")])
    assert posted.status == 403, posted.describe()

    stranger = signed_in(server.endpoint, bob)
    assert stranger.get(members_url(org)).status == 404
    assert stranger.get(f"/organizations/{org}/settings/tokens").status == 404
    csrf = stranger.get("/settings/tokens").csrf()
    posted = stranger.post(members_url(org), [("csrf", csrf), ("action", "invite"), ("user", bob.name), ("role", "admin")])
    assert posted.status == 404, posted.describe()
    assert my_invitation(stranger, org)[1] is None, "a stranger invited himself"
    assert org not in orgs_of(server, bob.read_token)

    anonymous = Browser(server.endpoint)
    landed = anonymous.get(members_url(org))
    assert landed.url.startswith("/login?"), landed.url


# --- organization tokens and policy ------------------------------------------------------------------------------


def test_fine_grained_only_policy_set_on_the_web_cuts_classic_tokens(server, alice, bob, org):
    set_member(server, alice, org, bob, "write")
    repo = f"{org}/{unique_name('secret')}"
    alice.api.create_repo(repo, private=True)
    assert bob.api.model_info(repo).private is True

    admin = signed_in(server.endpoint, alice)
    page = admin.get(f"/organizations/{org}/settings/tokens")
    assert page.status == 200, page.describe()
    assert page.is_checked("policy", "allow_all"), "the current policy is not shown"
    saved = admin.submit(page.form("policy", button="Save policy"), {"policy": "fine_grained_only"})
    assert saved.status == 200, saved.describe()
    assert "Saved" in notice_text(saved), saved.main_text
    assert saved.is_checked("policy", "fine_grained_only"), "the saved policy is not shown as chosen"

    with pytest.raises(HfHubHTTPError) as exc:
        bob.api.model_info(repo)
    assert exc.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as exc:
        bob.api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo)
    assert exc.value.response.status_code == 403

    back = admin.submit(admin.get(f"/organizations/{org}/settings/tokens").form("policy", button="Save policy"), {"policy": "allow_all"})
    assert back.status == 200 and back.is_checked("policy", "allow_all"), back.describe()
    assert bob.api.model_info(repo).private is True


def test_an_organization_token_made_on_the_web_acts_as_the_organization(server, alice, org):
    repo = f"{org}/{unique_name('shared')}"
    alice.api.create_repo(repo, private=True)
    admin = signed_in(server.endpoint, alice)
    listing = admin.get(f"/organizations/{org}/settings/tokens")
    new_link = listing.dom.find("a", lambda n: n.get("href") == f"/organizations/{org}/settings/tokens/new")
    assert new_link is not None, listing.main_text

    page = admin.get(new_link.get("href"))
    assert page.status == 200, page.describe()
    name = unique_name("ci-reader")
    created = admin.submit(page.form("name", "role"), {"name": name, "role": "read"})
    assert created.status == 200, created.describe()
    assert created.h1 == "Token created", created.main_text
    box = created.dom.by_id("new-token")
    assert box is not None and box.has("readonly"), created.main_text
    token = box.get("value")
    assert token and token.startswith("hf_"), token

    api = HfApi(endpoint=server.endpoint, token=token)
    who = api.whoami()
    assert who["type"] == "org" and who["name"] == org, who
    assert who["auth"]["accessToken"]["role"] == "read", who["auth"]
    assert api.model_info(repo).private is True
    with pytest.raises(HfHubHTTPError) as exc:
        api.create_repo(f"{org}/{unique_name('nope')}")
    assert exc.value.response.status_code == 403

    listed = admin.get(f"/organizations/{org}/settings/tokens")
    assert listed.dom.find("tr", lambda n: n.get("data-token-name") == name) is not None, listed.main_text
    # It is the organization's, not alice's.
    assert name not in [t["name"] for t in account_of(server, alice).list_tokens()]


# --- site administration ------------------------------------------------------------------------------------------


@pytest.fixture
def root(make_user):
    return make_user("root", site_admin=True)


def admin_user_row(admin: Browser, name: str):
    page = admin.get(f"/admin/users?q={name}")
    assert page.status == 200, page.describe()
    found = row(page, "users", "data-user", name)
    assert found is not None, f"{name} is not listed on /admin/users?q={name}: {page.main_text}"
    return page, found


def audit_rows(admin: Browser) -> list[str]:
    page = admin.get("/admin/audit")
    assert page.status == 200, page.describe()
    table = page.dom.by_id("audit")
    assert table is not None, page.main_text
    return [tr.text for tr in table.find_all("tr")]


def test_site_administration_is_for_site_admins_only(server, alice, bob):
    browser = signed_in(server.endpoint, alice)
    home = browser.get("/")
    assert home.dom.find("a", lambda n: n.get("href") == "/admin/users") is None, "a non-admin sees the Admin link"
    for path in ("/admin/users", "/admin/tokens?user=" + bob.name, "/admin/audit"):
        page = browser.get(path)
        assert page.status == 403, page.describe()
        assert bob.email not in page.html
    csrf = browser.get("/settings/tokens").csrf()
    posted = browser.post("/admin/users", [("csrf", csrf), ("user", bob.name), ("action", "disable")])
    assert posted.status == 403, posted.describe()
    assert whoami_raw(server.endpoint, bob.read_token).status == 200, "a non-admin disabled an account"

    anonymous = Browser(server.endpoint)
    assert anonymous.get("/admin/users").url.startswith("/login?")


def test_a_disabled_account_is_locked_out_until_enabled(server, root, alice):
    token = alice.write_token
    victim = signed_in(server.endpoint, alice)
    assert victim.get("/settings/account").status == 200

    admin = signed_in(server.endpoint, root)
    assert admin.get("/").dom.find("a", lambda n: n.get("href") == "/admin/users") is not None
    page, user_row = admin_user_row(admin, alice.name)
    assert "active" in user_row.text, user_row.text
    done = admin.submit(form_in(page, user_row, "Disable"))
    assert done.status == 200, done.describe()
    assert "Done" in notice_text(done), done.main_text
    _, user_row = admin_user_row(admin, alice.name)
    assert "disabled" in user_row.text, user_row.text

    # The token stops working.
    resp = whoami_raw(server.endpoint, token)
    assert resp.status == 401, resp.describe()
    assert "disabled" in resp.message.lower(), resp.describe()
    # The open session is over: her settings send her to log in.
    kicked = victim.get("/settings/account")
    assert kicked.url.startswith("/login?"), kicked.describe()
    assert not victim.has_session or kicked.dom.find("button", lambda n: "Log out" in n.text) is None
    # She cannot log in again, and is told why.
    again = Browser(server.endpoint)
    login_page = again.get("/login")
    refused = again.submit(login_page.form("username", "password"), {"username": alice.name, "password": alice.password})
    assert refused.status in (401, 403), refused.describe()
    assert "disabled" in refused.main_text.lower(), refused.main_text
    assert not again.has_session

    page, user_row = admin_user_row(admin, alice.name)
    enabled = admin.submit(form_in(page, user_row, "Enable"))
    assert enabled.status == 200, enabled.describe()
    _, user_row = admin_user_row(admin, alice.name)
    assert "active" in user_row.text, user_row.text

    assert HfApi(endpoint=server.endpoint, token=token).whoami()["name"] == alice.name
    # The session that was ended stays ended; a new log-in works.
    assert victim.get("/settings/account").url.startswith("/login?")
    Browser(server.endpoint).log_in(alice.name, alice.password)

    events = audit_rows(admin)
    assert any("admin.user.disable" in r and alice.name in r and root.name in r for r in events), events[:10]
    assert any("admin.user.enable" in r and alice.name in r for r in events), events[:10]


def test_a_site_admin_verifies_an_email_address(server, root):
    name = unique_name("unverified")
    password = f"pw-{name}-long-enough"
    server.create_user(name, f"{name}@example.test", password, verified=False)
    client = AccountClient(server.endpoint, basic=(name, password))
    refused = client.create_token(unique_name("early"), "read")
    assert refused.status == 403, refused.describe()

    admin = signed_in(server.endpoint, root)
    page, user_row = admin_user_row(admin, name)
    assert "not verified" in user_row.text, user_row.text
    done = admin.submit(form_in(page, user_row, "Verify email"))
    assert done.status == 200, done.describe()
    _, user_row = admin_user_row(admin, name)
    assert "not verified" not in user_row.text and "verified" in user_row.text, user_row.text
    assert not any("Verify email" in b.text for b in user_row.find_all("button")), "Verify email is still offered"

    created = client.create_token(unique_name("now"), "read")
    assert created.status == 201, created.describe()
    token = created.json()["token"]
    who = HfApi(endpoint=server.endpoint, token=token).whoami()
    assert who["name"] == name and who["emailVerified"] is True, who
    assert any("admin.user.verify" in r and name in r for r in audit_rows(admin))


def test_a_site_admin_revokes_another_users_token(server, root, alice):
    token = alice.write_token
    keep = alice.read_token
    assert HfApi(endpoint=server.endpoint, token=token).whoami()["name"] == alice.name

    admin = signed_in(server.endpoint, root)
    page = admin.get(f"/admin/tokens?user={alice.name}")
    assert page.status == 200, page.describe()
    target = row(page, "tokens", "data-token-name", alice.token_name("write"))
    assert target is not None, page.main_text
    assert token not in page.html, "the admin page shows a token's secret"
    done = admin.submit(form_in(page, target, "Revoke"))
    assert done.status == 200, done.describe()
    assert "revoked" in notice_text(done).lower(), done.main_text
    gone = row(done, "tokens", "data-token-name", alice.token_name("write"))
    assert gone is not None and "revoked" in gone.text.lower(), gone.text if gone else done.main_text
    assert not [b for b in gone.find_all("button") if b.text == "Revoke"], "a revoked token still offers Revoke"

    with pytest.raises(HfHubHTTPError) as exc:
        HfApi(endpoint=server.endpoint, token=token).whoami()
    assert exc.value.response.status_code == 401
    # Only that token.
    assert HfApi(endpoint=server.endpoint, token=keep).whoami()["name"] == alice.name
    listed = {t["name"]: t["state"] for t in account_of(server, alice).list_tokens()}
    assert listed[alice.token_name("write")] == "revoked", listed

    events = audit_rows(admin)
    assert any("admin.token.revoke" in r and alice.token_name("write") in r and root.name in r for r in events), events[:10]


def test_the_admin_audit_log_shows_every_users_events(server, root, alice, bob, org):
    """The site audit log is not limited to the admin's own events: an org invitation between two other users shows."""
    admin_of_org = signed_in(server.endpoint, alice)
    assert invite(admin_of_org, org, bob.name, "read").status == 200
    events = audit_rows(signed_in(server.endpoint, root))
    assert any("org.invitation.create" in r and bob.name in r and alice.name in r for r in events), events[:10]
    assert not any(re.search(r"hf_[A-Za-z]{20,}", r) for r in events), "a token appears in the audit log"
