"""Organizations (docs/ACCESS.md "Organizations"): members and their roles, token policies with admin approval,
and organization tokens, as members see them through the official client and the `hf` CLI."""

from __future__ import annotations

import json

import pytest
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from access_helpers import (
    AccountClient,
    account_of,
    assert_mentions,
    new_fine_grained_token,
    new_org,
    request,
    set_member,
    token_api,
    whoami_raw,
)
from hangar_e2e import unique_name

READ = "repo.content.read"
WRITE = "repo.write"


@pytest.fixture
def org(server, alice) -> str:
    """A fresh organization whose admin (and creator) is alice."""
    return new_org(server, alice, unique_name("org"))


@pytest.fixture
def org_repo(alice, org) -> str:
    """A private model of the organization, created by alice, with one file."""
    repo_id = f"{org}/{unique_name('secret')}"
    alice.api.create_repo(repo_id, private=True)
    alice.api.upload_file(path_or_fileobj=b"org secret\n", path_in_repo="secret.txt", repo_id=repo_id)
    return repo_id


def _orgs_of(api) -> dict[str, str]:
    return {o["name"]: o.get("roleInOrg") for o in api.whoami()["orgs"]}



def _members(server, org: str, token: str | None = None) -> list[dict]:
    resp = request("GET", f"{server.endpoint}/api/organizations/{org}/members", token=token)
    assert resp.status == 200, resp.describe()
    return resp.json()


def test_create_an_org_and_manage_members(server, alice, bob, org):
    assert [(m["user"], m["role"]) for m in _members(server, org, alice.read_token)] == [(alice.name, "admin")]
    assert _orgs_of(alice.api) == {org: "admin"}
    assert org in {o["name"] if isinstance(o, dict) else o for o in account_of(server, alice).account()["orgs"]}

    set_member(server, alice, org, bob, "read")
    members = _members(server, org, alice.read_token)
    assert {m["user"]: m["role"] for m in members} == {alice.name: "admin", bob.name: "read"}
    assert _orgs_of(bob.read_api) == {org: "read"}
    # Anyone may list the members (docs/ACCESS.md: private membership is not a Hangar feature).
    assert {m["user"] for m in _members(server, org)} == {alice.name, bob.name}

    set_member(server, alice, org, bob, "write")
    assert _orgs_of(bob.read_api) == {org: "write"}


def test_an_org_name_is_unique_across_users_and_orgs(server, alice, bob, org):
    account = account_of(server, alice)
    assert account.create_org(org).status == 409
    assert account.create_org(org.upper()).status == 409
    assert account.create_org(bob.name.upper()).status == 409, "users and organizations share one namespace"


def test_an_org_can_be_created_with_a_write_token(server, alice):
    name = unique_name("org-by-token")
    resp = request("POST", f"{server.endpoint}/api/organizations/new", json={"name": name}, token=alice.write_token)
    assert resp.status == 201, resp.describe()
    assert _orgs_of(alice.api) == {name: "admin"}
    refused = request(
        "POST", f"{server.endpoint}/api/organizations/new", json={"name": unique_name("x")}, token=alice.read_token
    )
    assert refused.status == 403, refused.describe()


def test_only_org_admins_manage_members(server, alice, bob, make_user, org):
    carol = make_user("carol")
    set_member(server, alice, org, bob, "write")
    bobs = account_of(server, bob)
    assert bobs.set_member(org, carol.name, "admin").status == 403
    assert bobs.remove_member(org, alice.name).status == 403
    assert bobs.set_member(org, bob.name, "admin").status == 403
    assert _orgs_of(bob.read_api) == {org: "write"}
    assert _orgs_of(carol.read_api) == {}
    # Tokens are refused for another user's membership too.
    forged = request(
        "PUT", f"{server.endpoint}/api/organizations/{org}/members/{carol.name}", json={"role": "admin"},
        token=bob.admin_token,
    )
    assert forged.status == 403, forged.describe()


def test_a_read_member_reads_private_repos_but_cannot_push(server, alice, bob, org, org_repo, cache_dir):
    set_member(server, alice, org, bob, "read")
    assert bob.api.model_info(org_repo).private is True
    with open(bob.api.hf_hub_download(org_repo, "secret.txt", cache_dir=cache_dir), "rb") as f:
        assert f.read() == b"org secret\n"
    assert org_repo in {m.id for m in bob.api.list_models(author=org)}

    head = alice.api.model_info(org_repo).sha
    with pytest.raises(HfHubHTTPError) as exc:
        bob.api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=org_repo)
    assert exc.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as exc:
        bob.api.create_repo(f"{org}/{unique_name('by-reader')}")
    assert exc.value.response.status_code == 403
    assert alice.api.model_info(org_repo).sha == head


def test_a_write_member_pushes_but_cannot_delete(server, alice, bob, org, org_repo):
    set_member(server, alice, org, bob, "write")
    bob.api.upload_file(path_or_fileobj=b"from bob\n", path_in_repo="bob.txt", repo_id=org_repo)
    assert "bob.txt" in alice.api.list_repo_files(org_repo)
    with pytest.raises(HfHubHTTPError) as exc:
        bob.admin_api.delete_repo(org_repo)
    assert exc.value.response.status_code == 403
    assert alice.api.repo_exists(org_repo)


def test_a_contributor_creates_repos_and_writes_only_to_its_own(server, alice, bob, org, org_repo):
    set_member(server, alice, org, bob, "contributor")
    own = f"{org}/{unique_name('contrib')}"
    bob.api.create_repo(own, private=True)
    bob.api.upload_file(path_or_fileobj=b"mine\n", path_in_repo="mine.txt", repo_id=own)
    assert "mine.txt" in alice.api.list_repo_files(own)

    assert bob.api.model_info(org_repo).private is True
    with pytest.raises(HfHubHTTPError) as exc:
        bob.api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=org_repo)
    assert exc.value.response.status_code == 403
    # ... but opens pull requests there.
    commit = bob.api.upload_file(path_or_fileobj=b"pr\n", path_in_repo="pr.txt", repo_id=org_repo, create_pr=True)
    assert commit.pr_num is not None
    assert "pr.txt" not in alice.api.list_repo_files(org_repo)


def test_removing_a_member_cuts_their_tokens_off_at_once(server, alice, bob, org, org_repo):
    set_member(server, alice, org, bob, "write")
    assert bob.read_api.model_info(org_repo).private is True

    resp = account_of(server, alice).remove_member(org, bob.name)
    assert resp.status in (200, 204), resp.describe()
    with pytest.raises(RepositoryNotFoundError):
        bob.read_api.model_info(org_repo)
    with pytest.raises(RepositoryNotFoundError):
        bob.api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=org_repo)
    assert _orgs_of(bob.read_api) == {}


def test_fine_grained_only_policy_refuses_classic_tokens(server, alice, bob, org, org_repo):
    set_member(server, alice, org, bob, "write")
    public_repo = f"{org}/{unique_name('open')}"
    alice.api.create_repo(public_repo)

    # Only admins see or change the policy.
    assert account_of(server, bob).set_token_policy(org, "fine_grained_only").status == 403
    admin = account_of(server, alice)
    resp = admin.set_token_policy(org, "fine_grained_only")
    assert resp.status == 200, resp.describe()
    got = admin.get(f"/api/organizations/{org}/settings/token-policy")
    assert got.status == 200 and got.json()["policy"] == "fine_grained_only", got.describe()
    assert account_of(server, bob).get(f"/api/organizations/{org}/settings/token-policy").status == 403

    with pytest.raises(HfHubHTTPError) as exc:
        bob.api.model_info(org_repo)
    assert exc.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as exc:
        bob.api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=public_repo)
    assert exc.value.response.status_code == 403
    # Reading a public repo does not use the membership.
    assert bob.api.model_info(public_repo).id == public_repo

    token = new_fine_grained_token(server, bob, ("org", org, [READ, WRITE]))["token"]
    api = token_api(server.endpoint, token)
    assert api.model_info(org_repo).private is True
    api.upload_file(path_or_fileobj=b"fine\n", path_in_repo="fine.txt", repo_id=org_repo)
    assert "fine.txt" in api.list_repo_files(org_repo)
    # The policy binds every member, admins included: alice's classic token is refused too.
    with pytest.raises(HfHubHTTPError) as exc:
        alice.api.list_repo_files(org_repo)
    assert exc.value.response.status_code == 403


def test_admin_approval_policy(server, mailbox, alice, bob, org, org_repo):
    set_member(server, alice, org, bob, "read")
    admin = account_of(server, alice)
    assert admin.set_token_policy(org, "admin_approval").status == 200

    created = new_fine_grained_token(server, bob, ("org", org, [READ]))
    api = token_api(server.endpoint, created["token"])
    with pytest.raises(HfHubHTTPError) as exc:
        api.model_info(org_repo)
    assert exc.value.response.status_code == 403
    assert_mentions(str(exc.value), "pending")

    approvals = admin.token_approvals(org)
    assert approvals.status == 200, approvals.describe()
    entry = next((a for a in approvals.json() if str(a["tokenId"]) == str(created["id"])), None)
    assert entry is not None, approvals.json()
    assert entry["user"] == bob.name
    assert entry["name"] == created["name"]
    assert entry["state"] == "pending"
    assert created["token"] not in approvals.text
    # The admins are told a token waits for them.
    notice = mailbox.wait_for(alice.email, text=created["name"])
    assert_mentions(notice.text, bob.name, org)

    # Members cannot approve, not even their own token.
    assert account_of(server, bob).decide_token(org, created["id"], "approved").status == 403
    assert account_of(server, bob).token_approvals(org).status == 403

    resp = admin.decide_token(org, created["id"], "approved")
    assert resp.status == 200, resp.describe()
    assert api.model_info(org_repo).private is True
    entry = next(a for a in admin.token_approvals(org).json() if str(a["tokenId"]) == str(created["id"]))
    assert entry["state"] == "approved"
    assert entry["decidedBy"] == alice.name

    assert admin.decide_token(org, created["id"], "denied").status == 200
    with pytest.raises(HfHubHTTPError) as exc:
        api.model_info(org_repo)
    assert exc.value.response.status_code == 403
    assert_mentions(str(exc.value), "denied")

    # Classic tokens are refused as under fine_grained_only.
    with pytest.raises(HfHubHTTPError) as exc:
        bob.read_api.model_info(org_repo)
    assert exc.value.response.status_code == 403


def test_org_tokens_act_as_the_org(server, alice, bob, org, org_repo, hf, cache_dir):
    alices_private = alice.new_repo_id("personal")
    alice.api.create_repo(alices_private, private=True)
    set_member(server, alice, org, bob, "write")

    assert account_of(server, bob).create_org_token(org, unique_name("nope")).status == 403, "members are not admins"
    resp = account_of(server, alice).create_org_token(org, unique_name("ci"), "read")
    assert resp.status == 201, resp.describe()
    created = resp.json()
    token = created["token"]
    assert token.startswith("hf_")

    listing = account_of(server, alice).get(f"/api/organizations/{org}/settings/tokens")
    assert listing.status == 200, listing.describe()
    assert token not in listing.text
    assert str(created["id"]) in {str(t["id"]) for t in listing.json()}

    who = whoami_raw(server.endpoint, token)
    assert who.status == 200, who.describe()
    assert who.json()["type"] == "org"
    assert who.json()["name"] == org

    hf("auth", "login", "--token", token, "--format", "human")
    assert (hf.home / "token").read_text().strip() == token
    shown = json.loads(hf("auth", "whoami", "--format", "json").stdout)
    assert shown["user"] == org

    api = token_api(server.endpoint, token)
    assert api.model_info(org_repo).private is True
    with open(api.hf_hub_download(org_repo, "secret.txt", cache_dir=cache_dir), "rb") as f:
        assert f.read() == b"org secret\n"
    # Nothing private elsewhere: not even the private repos of the admin who made it.
    with pytest.raises(RepositoryNotFoundError):
        api.model_info(alices_private)
    # A read org token cannot push.
    with pytest.raises(HfHubHTTPError) as exc:
        api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=org_repo)
    assert exc.value.response.status_code == 403
    # And it is not account credentials.
    assert request("GET", f"{server.endpoint}/api/settings/tokens", token=token).status == 403


def test_a_write_org_token_pushes_to_org_repos_only(server, alice, org, org_repo):
    created = account_of(server, alice).create_org_token(org, unique_name("deploy"), "write")
    assert created.status == 201, created.describe()
    api = token_api(server.endpoint, created.json()["token"])
    api.upload_file(path_or_fileobj=b"deployed\n", path_in_repo="deployed.txt", repo_id=org_repo)
    assert "deployed.txt" in alice.api.list_repo_files(org_repo)
    with pytest.raises(HfHubHTTPError) as exc:
        api.create_repo(alice.new_repo_id("not-in-org"))
    assert exc.value.response.status_code == 403


def test_org_token_revocation(server, alice, org, org_repo):
    admin = account_of(server, alice)
    created = admin.create_org_token(org, unique_name("short-lived"), "read").json()
    assert whoami_raw(server.endpoint, created["token"]).status == 200
    resp = admin.delete(f"/api/organizations/{org}/settings/tokens/{created['id']}")
    assert resp.status == 200, resp.describe()
    assert whoami_raw(server.endpoint, created["token"]).status == 401


def test_org_admin_routes_accept_a_session(server, alice, bob, org):
    session = AccountClient.login(server.endpoint, alice.name, alice.password)
    resp = session.set_member(org, bob.name, "read")
    assert resp.status in (200, 201, 204), resp.describe()
    assert _orgs_of(bob.read_api) == {org: "read"}
