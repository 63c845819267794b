"""Fine-grained tokens (docs/ACCESS.md "Tokens"): a token reaches only the entities it names, with only the
permissions it lists, never more than its owner may do; whoami-v2 shows it in the Hub's shape."""

from __future__ import annotations

import pytest
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from access_helpers import account_of, assert_mentions, fine_grained, http_error, new_fine_grained_token, token_api
from hangar_e2e import unique_name

READ = "repo.content.read"
WRITE = "repo.write"


def _repo(user, prefix: str, *, private: bool) -> str:
    repo_id = user.new_repo_id(prefix)
    user.api.create_repo(repo_id, private=private)
    user.api.upload_file(path_or_fileobj=f"{repo_id}\n".encode(), path_in_repo="weights.txt", repo_id=repo_id)
    return repo_id



def _read(path) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def test_a_token_scoped_to_one_repo_reads_only_that_repo(server, alice, bob, cache_dir):
    x = _repo(alice, "scoped-x", private=True)
    y = _repo(alice, "scoped-y", private=True)
    public = _repo(bob, "public", private=False)
    token = new_fine_grained_token(server, alice, ("model", x, [READ]))["token"]
    api = token_api(server.endpoint, token)

    assert _read(api.hf_hub_download(x, "weights.txt", cache_dir=cache_dir)) == f"{x}\n".encode()
    assert api.model_info(x).private is True

    with pytest.raises(Exception) as exc:  # noqa: B017 - hf_hub_download wraps a plain 403 (see http_error)
        api.hf_hub_download(y, "weights.txt", cache_dir=cache_dir)
    err = http_error(exc.value)
    assert err.response.status_code == 403, str(err)
    assert_mentions(str(err), READ, y)

    with pytest.raises(HfHubHTTPError) as exc:
        api.model_info(y)
    assert exc.value.response.status_code == 403
    assert_mentions(str(exc.value), READ, y)

    # Public repos need no permission at all.
    assert _read(api.hf_hub_download(public, "weights.txt", cache_dir=cache_dir)) == f"{public}\n".encode()


def test_listing_shows_only_the_private_repos_in_scope(server, alice):
    x = _repo(alice, "listed-x", private=True)
    y = _repo(alice, "listed-y", private=True)
    public = _repo(alice, "listed-public", private=False)
    api = token_api(server.endpoint, new_fine_grained_token(server, alice, ("model", x, [READ]))["token"])
    listed = {m.id for m in api.list_models(author=alice.name)}
    assert x in listed and public in listed
    assert y not in listed, "a private repo outside the token's scope is not even listed"
    assert y in {m.id for m in alice.api.list_models(author=alice.name)}, "the owner's classic token lists it"


def test_repo_write_in_scope_pushes_there_only(server, alice):
    x = _repo(alice, "writable", private=True)
    y = _repo(alice, "untouchable", private=False)
    token = new_fine_grained_token(server, alice, ("model", x, [READ, WRITE]))["token"]
    api = token_api(server.endpoint, token)

    api.upload_file(path_or_fileobj=b"new\n", path_in_repo="new.txt", repo_id=x)
    assert "new.txt" in alice.api.list_repo_files(x)

    head = alice.api.model_info(y).sha
    with pytest.raises(HfHubHTTPError) as exc:
        api.upload_file(path_or_fileobj=b"new\n", path_in_repo="new.txt", repo_id=y)
    assert exc.value.response.status_code == 403
    assert_mentions(str(exc.value), WRITE, y)
    assert alice.api.model_info(y).sha == head

    # Creating a repo needs repo.write on the namespace, which a repo-scoped token does not have.
    new_repo = alice.new_repo_id("not-created")
    with pytest.raises(HfHubHTTPError) as exc:
        api.create_repo(new_repo)
    assert exc.value.response.status_code == 403
    assert not alice.api.repo_exists(new_repo)


def test_repo_write_on_the_user_creates_repos(server, alice):
    token = new_fine_grained_token(server, alice, ("user", alice.name, [READ, WRITE]))["token"]
    api = token_api(server.endpoint, token)
    repo_id = alice.new_repo_id("by-fine-grained")
    api.create_repo(repo_id, private=True)
    api.upload_file(path_or_fileobj=b"ok\n", path_in_repo="ok.txt", repo_id=repo_id)
    assert "ok.txt" in alice.api.list_repo_files(repo_id)


def test_a_read_only_scope_cannot_write(server, alice):
    x = _repo(alice, "read-only", private=True)
    api = token_api(server.endpoint, new_fine_grained_token(server, alice, ("model", x, [READ]))["token"])
    with pytest.raises(HfHubHTTPError) as exc:
        api.upload_file(path_or_fileobj=b"no\n", path_in_repo="no.txt", repo_id=x)
    assert exc.value.response.status_code == 403
    assert_mentions(str(exc.value), WRITE)


def test_a_token_never_exceeds_what_its_owner_may_do(server, alice, bob):
    public = _repo(alice, "alices-public", private=False)
    # A public repo of someone else can be named (bob can read it), but repo.write on it gives bob nothing.
    token = new_fine_grained_token(server, bob, ("model", public, [READ, WRITE]))["token"]
    with pytest.raises(HfHubHTTPError) as exc:
        token_api(server.endpoint, token).upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=public)
    assert exc.value.response.status_code == 403
    assert "x.txt" not in alice.api.list_repo_files(public)


def test_whoami_shows_the_fine_grained_token(server, alice):
    x = _repo(alice, "whoami", private=True)
    created = new_fine_grained_token(
        server,
        alice,
        ("model", x, [READ, WRITE]),
        ("user", alice.name, [READ]),
        global_=["discussion.write"],
        can_read_gated_repos=True,
    )
    assert created["role"] == "fineGrained"

    access = token_api(server.endpoint, created["token"]).whoami()["auth"]["accessToken"]
    assert access["role"] == "fineGrained"
    assert access["displayName"] == created["name"]
    fg = access["fineGrained"]
    assert fg["canReadGatedRepos"] is True
    assert fg["global"] == ["discussion.write"]
    scoped = {(s["entity"]["type"], s["entity"]["name"]): s for s in fg["scoped"]}
    assert set(scoped) == {("model", x), ("user", alice.name)}
    assert set(scoped[("model", x)]["permissions"]) == {READ, WRITE}
    assert set(scoped[("user", alice.name)]["permissions"]) == {READ}
    for s in fg["scoped"]:
        assert isinstance(s["entity"]["_id"], str) and s["entity"]["_id"], s

    listed = next(t for t in account_of(server, alice).list_tokens() if str(t["id"]) == str(created["id"]))
    assert listed["role"] == "fineGrained"
    assert listed["fineGrained"]["canReadGatedRepos"] is True
    assert {(s["entity"]["type"], s["entity"]["name"]) for s in listed["fineGrained"]["scoped"]} == set(scoped)


def test_the_operator_cli_creates_fine_grained_tokens(server, alice, cache_dir):
    x = _repo(alice, "cli-x", private=True)
    y = _repo(alice, "cli-y", private=True)
    name = unique_name("cli-fg")
    token = server.create_token(
        alice.name,
        name,
        "fineGrained",
        "--permission",
        f"model:{x}={READ}",
        "--permission",
        "global=discussion.write",
        "--can-read-gated-repos",
    )
    api = token_api(server.endpoint, token)
    access = api.whoami()["auth"]["accessToken"]
    assert access["role"] == "fineGrained"
    assert access["displayName"] == name
    assert access["fineGrained"]["canReadGatedRepos"] is True
    assert access["fineGrained"]["global"] == ["discussion.write"]
    assert [(s["entity"]["type"], s["entity"]["name"], s["permissions"]) for s in access["fineGrained"]["scoped"]] == [
        ("model", x, [READ])
    ]
    assert _read(api.hf_hub_download(x, "weights.txt", cache_dir=cache_dir)) == f"{x}\n".encode()
    with pytest.raises(HfHubHTTPError) as exc:
        api.model_info(y)
    assert exc.value.response.status_code == 403


@pytest.mark.parametrize(
    "case",
    ["unknown-permission", "unknown-global", "unknown-entity-type", "repo-without-namespace", "another-user"],
)
def test_invalid_fine_grained_tokens_are_refused_naming_the_culprit(server, alice, bob, case):
    x = _repo(alice, "target", private=False)
    culprit, body = {
        "unknown-permission": ("repo.everything", fine_grained(("model", x, [READ, "repo.everything"]))),
        "unknown-global": ("galaxy.write", fine_grained(("model", x, [READ]), global_=["galaxy.write"])),
        "unknown-entity-type": ("galaxy", fine_grained(("galaxy", x, [READ]))),
        "repo-without-namespace": ("justaname", fine_grained(("model", "justaname", [READ]))),
        # "user" entities are only yourself.
        "another-user": (bob.name, fine_grained(("user", bob.name, [READ]))),
    }[case]
    account = account_of(server, alice)
    name = unique_name("invalid-fg")
    resp = account.create_token(name, "fineGrained", fine_grained=body)
    assert resp.status == 400, resp.describe()
    assert_mentions(resp.message, culprit)
    assert name not in {t["name"] for t in account.list_tokens()}


def test_naming_an_unreadable_private_repo_does_not_reveal_it(server, alice, bob):
    """A private repo bob cannot read and a repo that does not exist are refused alike."""
    private = _repo(alice, "hidden", private=True)
    account = account_of(server, bob)
    hidden = account.create_token(
        unique_name("fg"), "fineGrained", fine_grained=fine_grained(("model", private, [READ]))
    )
    missing = account.create_token(
        unique_name("fg"), "fineGrained", fine_grained=fine_grained(("model", f"{alice.name}/no-such-repo", [READ]))
    )
    assert 400 <= hidden.status < 500, hidden.describe()
    assert (hidden.status, hidden.error_code) == (missing.status, missing.error_code)


def test_global_discussion_write_opens_pull_requests_on_any_readable_repo(server, alice, bob):
    repo_id = _repo(alice, "contrib", private=False)
    head = alice.api.model_info(repo_id).sha
    token = new_fine_grained_token(server, bob, global_=["discussion.write"])["token"]
    api = token_api(server.endpoint, token)

    commit = api.upload_file(path_or_fileobj=b"fix\n", path_in_repo="fix.txt", repo_id=repo_id, create_pr=True)
    assert commit.pr_num is not None
    prs = alice.api.list_repo_refs(repo_id, include_pull_requests=True).pull_requests
    assert f"refs/pr/{commit.pr_num}" in {pr.ref for pr in prs}
    assert alice.api.model_info(repo_id).sha == head, "main is untouched"

    with pytest.raises(HfHubHTTPError) as exc:
        api.upload_file(path_or_fileobj=b"direct\n", path_in_repo="direct.txt", repo_id=repo_id)
    assert exc.value.response.status_code == 403
    assert alice.api.model_info(repo_id).sha == head


def test_without_discussion_write_no_pull_request(server, alice, bob):
    repo_id = _repo(alice, "closed", private=False)
    token = new_fine_grained_token(server, bob, ("user", bob.name, [READ]))["token"]
    with pytest.raises(HfHubHTTPError) as exc:
        token_api(server.endpoint, token).upload_file(
            path_or_fileobj=b"fix\n", path_in_repo="fix.txt", repo_id=repo_id, create_pr=True
        )
    assert exc.value.response.status_code == 403
    assert_mentions(str(exc.value), "discussion.write")
    assert alice.api.list_repo_refs(repo_id, include_pull_requests=True).pull_requests == []


def test_a_fine_grained_token_without_scope_on_a_private_repo_of_another_user_sees_nothing(server, alice, bob):
    private = _repo(alice, "private", private=True)
    token = new_fine_grained_token(server, bob, ("user", bob.name, [READ]))["token"]
    with pytest.raises(RepositoryNotFoundError):
        token_api(server.endpoint, token).model_info(private)
