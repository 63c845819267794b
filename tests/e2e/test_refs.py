"""Branches and tags: creating, committing to, downloading from and deleting them."""

import pytest
from huggingface_hub.errors import HfHubHTTPError, RevisionNotFoundError


def read(path) -> bytes:
    with open(path, "rb") as f:
        return f.read()


@pytest.fixture
def two_commits(alice):
    """A repo whose model.txt is v1 at the first commit and v2 at the head."""
    repo_id = alice.new_repo_id("refs")
    alice.api.create_repo(repo_id)
    v1 = alice.api.upload_file(path_or_fileobj=b"v1\n", path_in_repo="model.txt", repo_id=repo_id)
    v2 = alice.api.upload_file(path_or_fileobj=b"v2\n", path_in_repo="model.txt", repo_id=repo_id)
    return repo_id, v1.oid, v2.oid


def branches(api, repo_id):
    return {b.name: b.target_commit for b in api.list_repo_refs(repo_id).branches}


def tags(api, repo_id):
    return {t.name: t.target_commit for t in api.list_repo_refs(repo_id).tags}


def test_create_a_branch_from_an_older_revision(alice, two_commits, cache_dir):
    repo_id, v1, v2 = two_commits
    alice.api.create_branch(repo_id, branch="stable", revision=v1)

    assert branches(alice.api, repo_id) == {"main": v2, "stable": v1}
    assert alice.api.model_info(repo_id, revision="stable").sha == v1
    assert read(alice.api.hf_hub_download(repo_id, "model.txt", revision="stable", cache_dir=cache_dir)) == b"v1\n"
    assert read(alice.api.hf_hub_download(repo_id, "model.txt", revision="main", cache_dir=cache_dir)) == b"v2\n"


def test_a_new_branch_defaults_to_the_head_of_main(alice, two_commits):
    repo_id, _, v2 = two_commits
    alice.api.create_branch(repo_id, branch="dev")
    assert branches(alice.api, repo_id)["dev"] == v2


def test_commits_to_a_branch_leave_main_alone(alice, two_commits, cache_dir):
    repo_id, _, v2 = two_commits
    alice.api.create_branch(repo_id, branch="dev")
    commit = alice.api.upload_file(path_or_fileobj=b"v3\n", path_in_repo="model.txt", repo_id=repo_id, revision="dev")

    assert branches(alice.api, repo_id) == {"main": v2, "dev": commit.oid}
    assert read(alice.api.hf_hub_download(repo_id, "model.txt", revision="dev", cache_dir=cache_dir)) == b"v3\n"
    assert read(alice.api.hf_hub_download(repo_id, "model.txt", cache_dir=cache_dir)) == b"v2\n"
    assert [c.commit_id for c in alice.api.list_repo_commits(repo_id, revision="dev")][:2] == [commit.oid, v2]


def test_a_branch_name_with_a_slash(alice, two_commits, cache_dir):
    """Revisions travel percent-encoded as one path segment (feature%2Fx)."""
    repo_id, v1, _ = two_commits
    alice.api.create_branch(repo_id, branch="feature/x", revision=v1)
    commit = alice.api.upload_file(
        path_or_fileobj=b"feature\n", path_in_repo="dir/f.txt", repo_id=repo_id, revision="feature/x"
    )
    assert branches(alice.api, repo_id)["feature/x"] == commit.oid
    got = alice.api.hf_hub_download(repo_id, "dir/f.txt", revision="feature/x", cache_dir=cache_dir)
    assert read(got) == b"feature\n"
    assert "dir/f.txt" in [e.path for e in alice.api.list_repo_tree(repo_id, "dir", revision="feature/x")]
    assert "dir/f.txt" not in alice.api.list_repo_files(repo_id)


def test_creating_an_existing_branch(alice, two_commits):
    repo_id, v1, v2 = two_commits
    alice.api.create_branch(repo_id, branch="dev", revision=v1)
    with pytest.raises(HfHubHTTPError) as exc:
        alice.api.create_branch(repo_id, branch="dev", revision=v2)
    assert exc.value.response.status_code == 409
    alice.api.create_branch(repo_id, branch="dev", revision=v2, exist_ok=True)
    assert branches(alice.api, repo_id)["dev"] == v1  # not moved


def test_a_branch_from_a_missing_revision_is_refused(alice, two_commits):
    repo_id, _, _ = two_commits
    with pytest.raises(HfHubHTTPError) as exc:
        alice.api.create_branch(repo_id, branch="ghost", revision="no-such-branch")
    assert 400 <= exc.value.response.status_code < 500
    assert "ghost" not in branches(alice.api, repo_id)


def test_delete_a_branch(alice, two_commits, cache_dir):
    repo_id, v1, v2 = two_commits
    alice.api.create_branch(repo_id, branch="old", revision=v1)
    alice.api.delete_branch(repo_id, branch="old")

    assert branches(alice.api, repo_id) == {"main": v2}
    with pytest.raises(RevisionNotFoundError):
        alice.api.hf_hub_download(repo_id, "model.txt", revision="old", cache_dir=cache_dir)
    # The commits themselves are still reachable by id.
    assert read(alice.api.hf_hub_download(repo_id, "model.txt", revision=v1, cache_dir=cache_dir)) == b"v1\n"


def test_create_and_download_a_tag(alice, two_commits, cache_dir):
    repo_id, v1, v2 = two_commits
    alice.api.create_tag(repo_id, tag="v1.0", revision=v1, tag_message="First release")
    alice.api.create_tag(repo_id, tag="latest")

    assert tags(alice.api, repo_id) == {"v1.0": v1, "latest": v2}
    refs = alice.api.list_repo_refs(repo_id)
    assert {t.ref for t in refs.tags} == {"refs/tags/v1.0", "refs/tags/latest"}
    assert alice.api.model_info(repo_id, revision="v1.0").sha == v1
    assert read(alice.api.hf_hub_download(repo_id, "model.txt", revision="v1.0", cache_dir=cache_dir)) == b"v1\n"

    # A tag does not move when the branch does.
    alice.api.upload_file(path_or_fileobj=b"v3\n", path_in_repo="model.txt", repo_id=repo_id)
    assert tags(alice.api, repo_id)["latest"] == v2
    assert read(alice.api.hf_hub_download(repo_id, "model.txt", revision="latest", cache_dir=cache_dir)) == b"v2\n"


def test_creating_an_existing_tag(alice, two_commits):
    repo_id, v1, v2 = two_commits
    alice.api.create_tag(repo_id, tag="v1.0", revision=v1)
    with pytest.raises(HfHubHTTPError) as exc:
        alice.api.create_tag(repo_id, tag="v1.0", revision=v2)
    assert exc.value.response.status_code == 409
    alice.api.create_tag(repo_id, tag="v1.0", revision=v2, exist_ok=True)
    assert tags(alice.api, repo_id) == {"v1.0": v1}


def test_delete_a_tag(alice, two_commits, cache_dir):
    repo_id, v1, _ = two_commits
    alice.api.create_tag(repo_id, tag="v1.0", revision=v1)
    alice.api.delete_tag(repo_id, tag="v1.0")
    assert tags(alice.api, repo_id) == {}
    with pytest.raises(RevisionNotFoundError):
        alice.api.hf_hub_download(repo_id, "model.txt", revision="v1.0", cache_dir=cache_dir)


def test_deleting_missing_refs_fails(alice, two_commits):
    repo_id, _, v2 = two_commits
    with pytest.raises(HfHubHTTPError) as exc:
        alice.api.delete_branch(repo_id, branch="never-existed")
    assert exc.value.response.status_code == 404
    with pytest.raises(HfHubHTTPError) as exc:
        alice.api.delete_tag(repo_id, tag="never-existed")
    assert exc.value.response.status_code == 404
    assert branches(alice.api, repo_id) == {"main": v2}
