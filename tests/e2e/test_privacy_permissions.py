"""Who may see and change what: private repos, token roles, other users, anonymous clients."""

import pytest
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from hangar_e2e import http


def assert_forbidden(excinfo, *words: str) -> None:
    err = excinfo.value
    assert err.response.status_code == 403, str(err)
    for word in words:
        assert word.lower() in str(err).lower(), f"{word!r} not in the error message: {err}"


@pytest.fixture
def private_repo(alice):
    repo_id = alice.new_repo_id("secret")
    alice.api.create_repo(repo_id, private=True)
    alice.api.upload_file(path_or_fileobj=b"top secret\n", path_in_repo="secret.txt", repo_id=repo_id)
    return repo_id


@pytest.fixture
def public_repo(alice):
    repo_id = alice.new_repo_id("open")
    alice.api.create_repo(repo_id)
    alice.api.upload_file(path_or_fileobj=b"hello world\n", path_in_repo="hello.txt", repo_id=repo_id)
    return repo_id


def _every_read_fails_as_not_found(api, repo_id, cache_dir):
    with pytest.raises(RepositoryNotFoundError):
        api.model_info(repo_id)
    with pytest.raises(RepositoryNotFoundError):
        api.hf_hub_download(repo_id, "secret.txt", cache_dir=cache_dir)
    with pytest.raises(RepositoryNotFoundError):
        api.list_repo_files(repo_id)
    with pytest.raises(RepositoryNotFoundError):
        list(api.list_repo_tree(repo_id))
    with pytest.raises(RepositoryNotFoundError):
        api.list_repo_refs(repo_id)
    with pytest.raises(RepositoryNotFoundError):
        api.list_repo_commits(repo_id)
    with pytest.raises(RepositoryNotFoundError):
        api.get_paths_info(repo_id, ["secret.txt"])
    assert api.repo_exists(repo_id) is False
    assert api.file_exists(repo_id, "secret.txt") is False


def test_a_private_repo_is_invisible_to_another_user(bob, private_repo, cache_dir):
    _every_read_fails_as_not_found(bob.api, private_repo, cache_dir)
    _every_read_fails_as_not_found(bob.admin_api, private_repo, cache_dir)


def test_a_private_repo_is_invisible_to_anonymous_clients(anon, private_repo, cache_dir):
    _every_read_fails_as_not_found(anon, private_repo, cache_dir)


def test_a_private_repo_answers_exactly_like_a_missing_one(server, alice, bob, private_repo):
    missing = f"{alice.name}/does-not-exist"
    for token in (bob.write_token, None):
        for template in (
            "{e}/api/models/{r}",
            "{e}/api/models/{r}/revision/main",
            "{e}/api/models/{r}/tree/main",
            "{e}/api/models/{r}/refs",
            "{e}/api/models/{r}/commits/main",
            "{e}/{r}/resolve/main/secret.txt",
        ):
            for method in ("GET", "HEAD") if "/resolve/" in template else ("GET",):
                hidden = http(method, template.format(e=server.endpoint, r=private_repo), token=token)
                absent = http(method, template.format(e=server.endpoint, r=missing), token=token)
                label = f"{method} {template} as {'bob' if token else 'anonymous'}"
                assert hidden.status in (401, 404), label
                assert (hidden.status, hidden.headers.get("x-error-code")) == (
                    absent.status,
                    absent.headers.get("x-error-code"),
                ), label
                assert hidden.headers.get("x-error-code") == "RepoNotFound", label


def test_the_owner_reads_a_private_repo_with_every_token(alice, private_repo, cache_dir):
    for api in (alice.read_api, alice.api, alice.admin_api):
        assert api.model_info(private_repo).private is True
        path = api.hf_hub_download(private_repo, "secret.txt", cache_dir=cache_dir, force_download=True)
        with open(path, "rb") as f:
            assert f.read() == b"top secret\n"


def test_private_repos_are_listed_for_the_owner_only(alice, bob, anon, private_repo, public_repo):
    def listed(api):
        return {m.id for m in api.list_models(author=alice.name)}

    assert {private_repo, public_repo} <= listed(alice.api)
    assert private_repo in listed(alice.read_api)
    for api in (bob.api, anon):
        ids = listed(api)
        assert public_repo in ids
        assert private_repo not in ids


def test_private_datasets_are_hidden_and_unlisted(alice, bob, anon):
    repo_id = alice.new_repo_id("private-data")
    alice.api.create_repo(repo_id, repo_type="dataset", private=True)
    assert alice.api.dataset_info(repo_id).private is True
    assert repo_id in {d.id for d in alice.api.list_datasets(author=alice.name)}
    for api in (bob.api, anon):
        with pytest.raises(RepositoryNotFoundError):
            api.dataset_info(repo_id)
        assert repo_id not in {d.id for d in api.list_datasets(author=alice.name)}


def test_switching_visibility_hides_and_reveals_a_repo(alice, bob, public_repo, cache_dir):
    assert bob.api.model_info(public_repo).private is False

    alice.api.update_repo_settings(public_repo, private=True)
    assert alice.api.model_info(public_repo).private is True
    with pytest.raises(RepositoryNotFoundError):
        bob.api.model_info(public_repo)
    with pytest.raises(RepositoryNotFoundError):
        bob.api.hf_hub_download(public_repo, "hello.txt", cache_dir=cache_dir)
    assert public_repo not in {m.id for m in bob.api.list_models(author=alice.name)}

    alice.api.update_repo_settings(public_repo, private=False)
    assert bob.api.model_info(public_repo).private is False
    path = bob.api.hf_hub_download(public_repo, "hello.txt", cache_dir=cache_dir)
    with open(path, "rb") as f:
        assert f.read() == b"hello world\n"


def test_a_read_token_cannot_write(alice, public_repo):
    api = alice.read_api
    head = alice.api.model_info(public_repo).sha

    with pytest.raises(HfHubHTTPError) as exc:
        api.create_repo(alice.new_repo_id("by-read-token"))
    assert_forbidden(exc, "repo.write")

    with pytest.raises(HfHubHTTPError) as exc:
        api.upload_file(path_or_fileobj=b"nope", path_in_repo="nope.txt", repo_id=public_repo)
    assert_forbidden(exc, "repo.write")

    with pytest.raises(HfHubHTTPError) as exc:
        api.delete_file("hello.txt", public_repo)
    assert_forbidden(exc, "repo.write")

    with pytest.raises(HfHubHTTPError) as exc:
        api.create_branch(public_repo, branch="dev")
    assert_forbidden(exc, "repo.write")

    with pytest.raises(HfHubHTTPError) as exc:
        api.create_tag(public_repo, tag="v1")
    assert_forbidden(exc, "repo.write")

    with pytest.raises(HfHubHTTPError) as exc:
        api.update_repo_settings(public_repo, private=True)
    assert_forbidden(exc, "repo.write")

    info = alice.api.model_info(public_repo)
    assert info.sha == head
    assert info.private is False
    refs = alice.api.list_repo_refs(public_repo)
    assert [b.name for b in refs.branches] == ["main"]
    assert refs.tags == []


def test_a_write_token_cannot_delete_or_move_a_repo(alice, public_repo):
    with pytest.raises(HfHubHTTPError) as exc:
        alice.api.delete_repo(public_repo)
    assert_forbidden(exc, "admin", "delete")

    with pytest.raises(HfHubHTTPError) as exc:
        alice.api.move_repo(public_repo, alice.new_repo_id("moved"))
    assert_forbidden(exc, "admin")

    assert alice.api.file_exists(public_repo, "hello.txt")


def test_an_admin_token_deletes_a_repo(alice, public_repo):
    alice.admin_api.delete_repo(public_repo)
    with pytest.raises(RepositoryNotFoundError):
        alice.api.model_info(public_repo)


def test_anonymous_clients_read_public_repos(anon, public_repo, cache_dir):
    assert anon.model_info(public_repo).id == public_repo
    assert "hello.txt" in anon.list_repo_files(public_repo)
    path = anon.hf_hub_download(public_repo, "hello.txt", cache_dir=cache_dir)
    with open(path, "rb") as f:
        assert f.read() == b"hello world\n"


def test_anonymous_clients_cannot_write(alice, anon, public_repo):
    head = alice.api.model_info(public_repo).sha
    with pytest.raises(HfHubHTTPError) as exc:
        anon.upload_file(path_or_fileobj=b"graffiti", path_in_repo="tag.txt", repo_id=public_repo)
    assert exc.value.response.status_code == 401
    with pytest.raises(HfHubHTTPError) as exc:
        anon.create_repo(f"{alice.name}/anonymous-repo")
    assert exc.value.response.status_code == 401
    assert alice.api.model_info(public_repo).sha == head
    assert not alice.api.repo_exists(f"{alice.name}/anonymous-repo")


def test_another_user_cannot_write_to_a_public_repo(alice, bob, public_repo):
    head = alice.api.model_info(public_repo).sha
    with pytest.raises(HfHubHTTPError) as exc:
        bob.admin_api.upload_file(path_or_fileobj=b"graffiti", path_in_repo="tag.txt", repo_id=public_repo)
    assert exc.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as exc:
        bob.admin_api.delete_repo(public_repo)
    assert exc.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as exc:
        bob.admin_api.update_repo_settings(public_repo, private=True)
    assert exc.value.response.status_code == 403
    info = alice.api.model_info(public_repo)
    assert info.sha == head
    assert info.private is False


def test_another_user_cannot_write_to_a_private_repo_or_learn_it_exists(alice, bob, private_repo):
    head = alice.api.model_info(private_repo).sha
    with pytest.raises(RepositoryNotFoundError):
        bob.admin_api.upload_file(path_or_fileobj=b"graffiti", path_in_repo="tag.txt", repo_id=private_repo)
    with pytest.raises(RepositoryNotFoundError):
        bob.admin_api.delete_repo(private_repo)
    assert alice.api.model_info(private_repo).sha == head


def test_nobody_creates_repos_in_another_users_namespace(alice, bob):
    repo_id = f"{alice.name}/planted-by-bob"
    with pytest.raises(HfHubHTTPError) as exc:
        bob.admin_api.create_repo(repo_id)
    assert exc.value.response.status_code == 403
    assert not alice.api.repo_exists(repo_id)
