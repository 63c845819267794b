"""Creating, inspecting, listing, moving and deleting repositories."""

import re

import pytest
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from hangar_e2e import MIB, assert_lfs_entry, git_blob_sha1, unique_name, write_random_file

HEX40 = re.compile(r"[0-9a-f]{40}")


def test_create_a_public_model_repo(server, alice):
    repo_id = alice.new_repo_id("model")
    url = alice.api.create_repo(repo_id)
    assert url.repo_id == repo_id
    assert url.repo_type == "model"
    assert url.url.rstrip("/") == f"{server.endpoint}/{repo_id}"

    info = alice.api.model_info(repo_id)
    assert info.id == repo_id
    assert info.author == alice.name
    assert info.private is False
    assert HEX40.fullmatch(info.sha)
    # Like the Hub, a new repo starts with a commit holding .gitattributes.
    assert ".gitattributes" in {s.rfilename for s in info.siblings}


def test_create_a_private_repo(alice):
    repo_id = alice.new_repo_id("private")
    alice.api.create_repo(repo_id, private=True)
    assert alice.api.model_info(repo_id).private is True


def test_create_a_dataset_repo(server, alice):
    repo_id = alice.new_repo_id("data")
    url = alice.api.create_repo(repo_id, repo_type="dataset")
    assert url.repo_id == repo_id
    assert url.repo_type == "dataset"
    assert url.url.rstrip("/") == f"{server.endpoint}/datasets/{repo_id}"
    info = alice.api.dataset_info(repo_id)
    assert info.id == repo_id
    assert alice.api.repo_info(repo_id, repo_type="dataset").sha == info.sha
    # Models and datasets are separate namespaces.
    with pytest.raises(RepositoryNotFoundError):
        alice.api.model_info(repo_id)


def test_a_model_and_a_dataset_may_share_a_name(alice):
    repo_id = alice.new_repo_id("twin")
    alice.api.create_repo(repo_id)
    alice.api.create_repo(repo_id, repo_type="dataset")
    alice.api.upload_file(path_or_fileobj=b"model", path_in_repo="which.txt", repo_id=repo_id)
    alice.api.upload_file(path_or_fileobj=b"dataset", path_in_repo="which.txt", repo_id=repo_id, repo_type="dataset")
    files = {s.rfilename: s for s in alice.api.model_info(repo_id, files_metadata=True).siblings}
    assert files["which.txt"].blob_id == git_blob_sha1(b"model")
    files = {s.rfilename: s for s in alice.api.dataset_info(repo_id, files_metadata=True).siblings}
    assert files["which.txt"].blob_id == git_blob_sha1(b"dataset")


def test_create_an_existing_repo(alice):
    repo_id = alice.new_repo_id("twice")
    alice.api.create_repo(repo_id)
    alice.api.upload_file(path_or_fileobj=b"keep me", path_in_repo="keep.txt", repo_id=repo_id)

    url = alice.api.create_repo(repo_id, exist_ok=True)
    assert url.repo_id == repo_id
    assert url.repo_type == "model"

    with pytest.raises(HfHubHTTPError) as exc:
        alice.api.create_repo(repo_id)
    assert exc.value.response.status_code == 409
    assert "url" in exc.value.response.json()

    # Neither call touched the existing content.
    assert "keep.txt" in alice.api.list_repo_files(repo_id)


def test_create_an_existing_dataset_with_exist_ok(alice):
    repo_id = alice.new_repo_id("data-twice")
    alice.api.create_repo(repo_id, repo_type="dataset")
    url = alice.api.create_repo(repo_id, repo_type="dataset", exist_ok=True)
    assert (url.repo_id, url.repo_type) == (repo_id, "dataset")


def test_delete_a_repo(alice):
    repo_id = alice.new_repo_id("doomed")
    alice.api.create_repo(repo_id)
    alice.admin_api.delete_repo(repo_id)
    with pytest.raises(RepositoryNotFoundError):
        alice.api.model_info(repo_id)
    assert repo_id not in {m.id for m in alice.api.list_models(author=alice.name)}
    with pytest.raises(RepositoryNotFoundError):
        alice.admin_api.delete_repo(repo_id)
    alice.admin_api.delete_repo(repo_id, missing_ok=True)


def test_a_deleted_repo_name_can_be_reused_and_starts_empty(alice):
    repo_id = alice.new_repo_id("reborn")
    alice.api.create_repo(repo_id)
    alice.api.upload_file(path_or_fileobj=b"old life", path_in_repo="old.txt", repo_id=repo_id)
    alice.admin_api.delete_repo(repo_id)
    alice.api.create_repo(repo_id)
    assert "old.txt" not in alice.api.list_repo_files(repo_id)
    assert len(alice.api.list_repo_commits(repo_id)) == 1


def test_delete_a_dataset_repo(alice):
    repo_id = alice.new_repo_id("doomed-data")
    alice.api.create_repo(repo_id, repo_type="dataset")
    alice.admin_api.delete_repo(repo_id, repo_type="dataset")
    with pytest.raises(RepositoryNotFoundError):
        alice.api.dataset_info(repo_id)


def test_move_a_repo(alice, cache_dir):
    old_id = alice.new_repo_id("before")
    new_id = alice.new_repo_id("after")
    alice.api.create_repo(old_id)
    alice.api.upload_file(path_or_fileobj=b"portable\n", path_in_repo="data/file.txt", repo_id=old_id)
    head = alice.api.model_info(old_id).sha

    alice.admin_api.move_repo(old_id, new_id)

    info = alice.api.model_info(new_id)
    assert info.id == new_id
    assert info.sha == head
    path = alice.api.hf_hub_download(new_id, "data/file.txt", cache_dir=cache_dir)
    with open(path, "rb") as f:
        assert f.read() == b"portable\n"
    with pytest.raises(RepositoryNotFoundError):
        alice.api.model_info(old_id)
    listed = {m.id for m in alice.api.list_models(author=alice.name)}
    assert new_id in listed
    assert old_id not in listed


def test_moving_onto_an_existing_repo_is_refused(alice):
    source = alice.new_repo_id("source")
    target = alice.new_repo_id("target")
    for repo_id in (source, target):
        alice.api.create_repo(repo_id)
        alice.api.upload_file(path_or_fileobj=repo_id.encode(), path_in_repo="who.txt", repo_id=repo_id)
    with pytest.raises(HfHubHTTPError):
        alice.admin_api.move_repo(source, target)
    for repo_id in (source, target):
        siblings = {s.rfilename: s for s in alice.api.model_info(repo_id, files_metadata=True).siblings}
        assert siblings["who.txt"].blob_id == git_blob_sha1(repo_id.encode())


def test_update_repo_settings_changes_visibility(alice):
    repo_id = alice.new_repo_id("flip")
    alice.api.create_repo(repo_id)
    alice.api.update_repo_settings(repo_id, private=True)
    assert alice.api.model_info(repo_id).private is True
    alice.api.update_repo_settings(repo_id, private=False)
    assert alice.api.model_info(repo_id).private is False


def test_repo_info_sha_is_the_head_commit(alice):
    repo_id = alice.new_repo_id("head")
    alice.api.create_repo(repo_id)
    first = alice.api.upload_file(path_or_fileobj=b"1", path_in_repo="n.txt", repo_id=repo_id)
    assert alice.api.model_info(repo_id).sha == first.oid
    second = alice.api.upload_file(path_or_fileobj=b"2", path_in_repo="n.txt", repo_id=repo_id)
    assert second.oid != first.oid
    assert alice.api.model_info(repo_id).sha == second.oid
    assert alice.api.model_info(repo_id, revision=first.oid).sha == first.oid


def test_files_metadata_gives_sizes_blob_ids_and_lfs_hashes(alice, tmp_path):
    repo_id = alice.new_repo_id("meta")
    alice.api.create_repo(repo_id)
    small = b'{"hidden_size": 8}\n'
    big = write_random_file(tmp_path / "weights.bin", 12 * MIB)
    alice.api.upload_file(path_or_fileobj=small, path_in_repo="config.json", repo_id=repo_id)
    alice.api.upload_file(path_or_fileobj=str(big.path), path_in_repo="weights.bin", repo_id=repo_id)

    siblings = {s.rfilename: s for s in alice.api.model_info(repo_id, files_metadata=True).siblings}
    assert {"config.json", "weights.bin", ".gitattributes"} <= set(siblings)

    config = siblings["config.json"]
    assert config.size == len(small)
    assert config.blob_id == git_blob_sha1(small)
    assert config.lfs is None

    weights = siblings["weights.bin"]
    assert_lfs_entry(weights, big)


def test_list_models_by_author(alice, bob):
    mine = {alice.new_repo_id("listed") for _ in range(3)}
    for repo_id in mine:
        alice.api.create_repo(repo_id)
    theirs = bob.new_repo_id("other")
    bob.api.create_repo(theirs)
    dataset = alice.new_repo_id("not-a-model")
    alice.api.create_repo(dataset, repo_type="dataset")

    listed = [m.id for m in alice.api.list_models(author=alice.name)]
    assert set(listed) == mine
    assert len(listed) == len(set(listed))
    assert [d.id for d in alice.api.list_datasets(author=alice.name)] == [dataset]


def test_list_models_with_search(alice, bob):
    needle = unique_name("needle")
    match_a = f"{alice.name}/{needle}-a"
    match_b = f"{bob.name}/x-{needle}-b"
    other = alice.new_repo_id("haystack")
    alice.api.create_repo(match_a)
    bob.api.create_repo(match_b)
    alice.api.create_repo(other)

    found = {m.id for m in alice.api.list_models(search=needle)}
    assert found == {match_a, match_b}
    assert {m.id for m in alice.api.list_models(search=needle, author=bob.name)} == {match_b}

