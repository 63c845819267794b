"""Listing a repository: files, trees, paths-info, refs and commits."""

import pytest
from huggingface_hub import RepoFile, RepoFolder
from huggingface_hub.errors import EntryNotFoundError

from hangar_e2e import MIB, assert_lfs_entry, git_blob_sha1, write_random_file

FILES = {
    "notes.md": b"# Listing\n",
    "top level.txt": b"root file with a space\n",
    "data/a.txt": b"alpha\n",
    "data/sub/c.json": b'{"c": 3}\n',
    "data/sub/deeper/b with space.txt": b"bravo\n",
}
LFS_PATH = "models/weights.bin"
FOLDERS = {"data", "data/sub", "data/sub/deeper", "models"}


@pytest.fixture(scope="module")
def tree_repo(make_user, tmp_path_factory):
    owner = make_user("lister")
    repo_id = owner.new_repo_id("tree")
    owner.api.create_repo(repo_id)
    src = tmp_path_factory.mktemp("tree-src")
    for rel, data in FILES.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes(data)
    big = write_random_file(src / LFS_PATH, 11 * MIB)
    commit = owner.api.upload_folder(repo_id=repo_id, folder_path=src, commit_message="Initial tree")
    return owner, repo_id, big, commit.oid


def tree(api, repo_id, path=None, **kwargs):
    entries = list(api.list_repo_tree(repo_id, path_in_repo=path, **kwargs))
    paths = [e.path for e in entries]
    assert len(paths) == len(set(paths)), f"duplicate entries: {paths}"
    return {e.path: e for e in entries}


def test_list_repo_files_lists_every_uploaded_file(tree_repo):
    owner, repo_id, _, _ = tree_repo
    files = owner.read_api.list_repo_files(repo_id)
    assert len(files) == len(set(files))
    assert set(FILES) | {LFS_PATH, ".gitattributes"} <= set(files)
    # Nothing invented inside the uploaded folders, and no folders listed as files.
    assert {f for f in files if f.startswith(("data/", "models/"))} == {f for f in FILES if "/" in f} | {LFS_PATH}
    assert not FOLDERS & set(files)


def test_tree_of_the_root_is_not_recursive_by_default(tree_repo):
    owner, repo_id, _, _ = tree_repo
    entries = tree(owner.read_api, repo_id)
    assert {"notes.md", "top level.txt", ".gitattributes", "data", "models"} <= set(entries)
    assert not [p for p in entries if "/" in p]
    assert isinstance(entries["data"], RepoFolder)
    assert isinstance(entries["models"], RepoFolder)
    assert isinstance(entries["notes.md"], RepoFile)


def test_recursive_tree_lists_files_and_folders(tree_repo):
    owner, repo_id, _, _ = tree_repo
    entries = tree(owner.read_api, repo_id, recursive=True)
    assert set(FILES) | {LFS_PATH} | FOLDERS <= set(entries)
    for folder in FOLDERS:
        assert isinstance(entries[folder], RepoFolder), folder
    for path in FILES:
        assert isinstance(entries[path], RepoFile), path


def test_tree_of_a_sub_folder(tree_repo):
    owner, repo_id, _, _ = tree_repo
    api = owner.read_api
    data = tree(api, repo_id, "data")
    assert set(data) == {"data/a.txt", "data/sub"}
    assert isinstance(data["data/sub"], RepoFolder)

    sub = tree(api, repo_id, "data/sub")
    assert set(sub) == {"data/sub/c.json", "data/sub/deeper"}

    deeper = tree(api, repo_id, "data/sub/deeper")
    assert set(deeper) == {"data/sub/deeper/b with space.txt"}

    recursive = tree(api, repo_id, "data", recursive=True)
    assert set(recursive) == {"data/a.txt", "data/sub", "data/sub/c.json", "data/sub/deeper",
                              "data/sub/deeper/b with space.txt"}


def test_tree_entries_carry_sizes_and_git_object_ids(tree_repo):
    owner, repo_id, big, _ = tree_repo
    entries = tree(owner.read_api, repo_id, recursive=True)
    for path, data in FILES.items():
        entry = entries[path]
        assert entry.size == len(data), path
        assert entry.blob_id == git_blob_sha1(data), path
        assert entry.lfs is None, path

    weights = entries[LFS_PATH]
    assert_lfs_entry(weights, big)
    assert weights.xet_hash is None


def test_tree_of_a_missing_folder_is_entry_not_found(tree_repo):
    owner, repo_id, _, _ = tree_repo
    with pytest.raises(EntryNotFoundError):
        tree(owner.read_api, repo_id, "no/such/folder")


def test_tree_at_an_older_revision(alice):
    repo_id = alice.new_repo_id()
    alice.api.create_repo(repo_id)
    old = alice.api.upload_file(path_or_fileobj=b"1", path_in_repo="dir/one.txt", repo_id=repo_id)
    alice.api.upload_file(path_or_fileobj=b"2", path_in_repo="dir/two.txt", repo_id=repo_id)
    assert set(tree(alice.api, repo_id, "dir")) == {"dir/one.txt", "dir/two.txt"}
    assert set(tree(alice.api, repo_id, "dir", revision=old.oid)) == {"dir/one.txt"}
    assert "dir/two.txt" not in alice.api.list_repo_files(repo_id, revision=old.oid)


def test_get_paths_info_answers_for_existing_paths_only(tree_repo):
    owner, repo_id, big, _ = tree_repo
    infos = owner.read_api.get_paths_info(repo_id, ["data/a.txt", "data/sub", "nope.txt", LFS_PATH, "top level.txt"])
    by_path = {i.path: i for i in infos}
    assert set(by_path) == {"data/a.txt", "data/sub", LFS_PATH, "top level.txt"}
    assert isinstance(by_path["data/sub"], RepoFolder)
    assert by_path["data/a.txt"].blob_id == git_blob_sha1(FILES["data/a.txt"])
    assert by_path["top level.txt"].size == len(FILES["top level.txt"])
    assert by_path[LFS_PATH].lfs.sha256 == big.sha256


def test_list_repo_refs_shows_main_at_the_head(tree_repo):
    owner, repo_id, _, head = tree_repo
    refs = owner.read_api.list_repo_refs(repo_id)
    assert [(b.name, b.ref, b.target_commit) for b in refs.branches] == [("main", "refs/heads/main", head)]
    assert refs.tags == []
    assert refs.converts == []


def test_list_repo_commits_newest_first(alice):
    repo_id = alice.new_repo_id()
    alice.api.create_repo(repo_id)
    messages = ["Add first file", "Add second file", "Update first file"]
    commits = []
    for i, message in enumerate(messages):
        path = "second.txt" if i == 1 else "first.txt"
        commits.append(
            alice.api.upload_file(path_or_fileobj=f"{i}".encode(), path_in_repo=path, repo_id=repo_id,
                                  commit_message=message)
        )

    history = alice.api.list_repo_commits(repo_id)
    assert len(history) == len(messages) + 1  # plus the repo's initial commit
    assert [c.commit_id for c in history[:3]] == [c.oid for c in reversed(commits)]
    assert [c.title for c in history[:3]] == list(reversed(messages))
    assert all(alice.name in c.authors for c in history[:3])
    dates = [c.created_at for c in history]
    assert dates == sorted(dates, reverse=True)

    # From an older commit, history starts there.
    older = alice.api.list_repo_commits(repo_id, revision=commits[1].oid)
    assert [c.commit_id for c in older] == [c.commit_id for c in history[1:]]


def test_list_repo_commits_of_a_dataset(alice):
    repo_id = alice.new_repo_id("data")
    alice.api.create_repo(repo_id, repo_type="dataset")
    commit = alice.api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo_id, repo_type="dataset",
                                   commit_message="Add x")
    history = alice.api.list_repo_commits(repo_id, repo_type="dataset")
    assert (history[0].commit_id, history[0].title) == (commit.oid, "Add x")
