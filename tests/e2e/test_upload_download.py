"""Commits (regular, LFS, folders, deletions, PRs, conflicts) and downloads (cache layout, Range, offline)."""

import base64
import json
import os
import re
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from huggingface_hub import CommitOperationAdd, RepoFile, constants
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from hangar_e2e import MIB, file_sha256, git_blob_sha1, http, read_range, sha256_hex, write_random_file

HEX40 = re.compile(r"[0-9a-f]{40}")

# Files of a folder upload: nested folders, spaces in names, an empty file, a small binary file.
FOLDER = {
    "notes.md": b"# A model\n",
    "top level.txt": b"spaces in the name\n",
    "data/a.txt": b"alpha\n",
    "data/sub/c.json": b'{"c": 3}\n',
    "data/sub/deeper/b with space.txt": b"bravo, deeply nested\n",
    "empty/__init__.py": b"",
    "bin/bytes.dat": bytes(range(256)) * 4,
}


def write_folder(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def read(path) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def storage_folder(cache_dir: Path, repo_id: str, repo_type: str = "model") -> Path:
    namespace, name = repo_id.split("/")
    return cache_dir / f"{repo_type}s--{namespace}--{name}"


def resolve_url(endpoint: str, repo_id: str, revision: str, path: str) -> str:
    return f"{endpoint}/{repo_id}/resolve/{quote(revision, safe='')}/{quote(path)}"


@pytest.fixture(scope="module")
def lfs_repo(make_user, tmp_path_factory):
    """A public repo with a 12 MiB LFS file and a small regular file, shared by the read-only tests below."""
    owner = make_user("lfs")
    repo_id = owner.new_repo_id("weights")
    owner.api.create_repo(repo_id)
    big = write_random_file(tmp_path_factory.mktemp("lfs") / "weights.bin", 12 * MIB)
    small = b'{"architectures": ["Tiny"]}\n'
    lfs_commit = owner.api.upload_file(path_or_fileobj=str(big.path), path_in_repo="weights.bin", repo_id=repo_id)
    owner.api.upload_file(path_or_fileobj=small, path_in_repo="config.json", repo_id=repo_id)
    return SimpleNamespace(owner=owner, repo_id=repo_id, big=big, small=small, lfs_commit=lfs_commit.oid)


# --- upload and download ------------------------------------------------------------------------------------


def test_a_small_file_round_trips_into_the_standard_cache_layout(server, alice, cache_dir):
    repo_id = alice.new_repo_id()
    alice.api.create_repo(repo_id)
    data = b"hello, hangar\n"
    commit = alice.api.upload_file(
        path_or_fileobj=data, path_in_repo="hello.txt", repo_id=repo_id, commit_message="Add hello"
    )
    assert HEX40.fullmatch(commit.oid)
    assert commit.commit_url == f"{server.endpoint}/{repo_id}/commit/{commit.oid}"
    assert commit.pr_url is None

    path = Path(alice.api.hf_hub_download(repo_id, "hello.txt", cache_dir=cache_dir))
    assert read(path) == data

    folder = storage_folder(cache_dir, repo_id)
    assert path == folder / "snapshots" / commit.oid / "hello.txt"
    assert path.is_symlink()
    assert path.resolve() == (folder / "blobs" / git_blob_sha1(data)).resolve()
    assert (folder / "refs" / "main").read_text() == commit.oid


def test_a_large_file_round_trips_through_lfs(lfs_repo, cache_dir):
    api = lfs_repo.owner.read_api
    path = Path(api.hf_hub_download(lfs_repo.repo_id, "weights.bin", cache_dir=cache_dir))
    assert path.stat().st_size == lfs_repo.big.size
    assert file_sha256(path) == lfs_repo.big.sha256
    # The cache names LFS blobs by their SHA-256.
    blob = storage_folder(cache_dir, lfs_repo.repo_id) / "blobs" / lfs_repo.big.sha256
    assert path.resolve() == blob.resolve()


def test_the_server_asks_for_lfs_above_10_mb_and_inline_below(server, alice):
    repo_id = alice.new_repo_id()
    alice.api.create_repo(repo_id)
    sample = base64.b64encode(b"a" * 512).decode()
    body = {
        "files": [
            {"path": "big.bin", "sample": sample, "size": 12 * MIB},
            {"path": "small.txt", "sample": base64.b64encode(b"tiny\n").decode(), "size": 5},
        ]
    }
    resp = http(
        "POST",
        f"{server.endpoint}/api/models/{repo_id}/preupload/main",
        token=alice.write_token,
        headers={"Content-Type": "application/json"},
        body=json.dumps(body).encode(),
    )
    assert resp.status == 200, resp.body
    modes = {f["path"]: f for f in resp.json()["files"]}
    assert modes["big.bin"]["uploadMode"] == "lfs"
    assert modes["small.txt"]["uploadMode"] == "regular"
    assert modes["small.txt"]["shouldIgnore"] is False


def test_a_dataset_file_round_trips(alice, cache_dir):
    repo_id = alice.new_repo_id("data")
    alice.api.create_repo(repo_id, repo_type="dataset")
    rows = b'{"text": "a"}\n{"text": "b"}\n'
    commit = alice.api.upload_file(
        path_or_fileobj=rows, path_in_repo="train/rows.jsonl", repo_id=repo_id, repo_type="dataset"
    )
    path = Path(alice.api.hf_hub_download(repo_id, "train/rows.jsonl", repo_type="dataset", cache_dir=cache_dir))
    assert read(path) == rows
    assert path == storage_folder(cache_dir, repo_id, "dataset") / "snapshots" / commit.oid / "train/rows.jsonl"


def test_upload_folder_with_nested_paths_and_spaces(alice, tmp_path, cache_dir):
    repo_id = alice.new_repo_id("folder")
    alice.api.create_repo(repo_id)
    before = len(alice.api.list_repo_commits(repo_id))
    commit = alice.api.upload_folder(
        repo_id=repo_id, folder_path=write_folder(tmp_path / "src", FOLDER), commit_message="Upload folder"
    )

    assert set(FOLDER) <= set(alice.api.list_repo_files(repo_id))
    assert alice.api.model_info(repo_id).sha == commit.oid
    assert len(alice.api.list_repo_commits(repo_id)) == before + 1  # one commit for the whole folder
    for rel, data in FOLDER.items():
        assert read(alice.api.hf_hub_download(repo_id, rel, cache_dir=cache_dir)) == data, rel


def test_a_readme_with_metadata_uploads(alice, cache_dir):
    """The client validates a README.md through POST /api/validate-yaml before committing it."""
    repo_id = alice.new_repo_id("card")
    alice.api.create_repo(repo_id)
    card = b"---\nlicense: apache-2.0\ntags:\n- tiny\n---\n# Tiny model\n"
    commit = alice.api.upload_file(path_or_fileobj=card, path_in_repo="README.md", repo_id=repo_id)
    assert alice.api.model_info(repo_id).sha == commit.oid
    assert read(alice.api.hf_hub_download(repo_id, "README.md", cache_dir=cache_dir)) == card


def test_concurrent_commits_to_one_branch_all_land(alice, cache_dir):
    """Commits without a parent from several clients at once are serialised, none lost or garbled."""
    repo_id = alice.new_repo_id("busy")
    alice.api.create_repo(repo_id)
    acks, errors = [], []

    def commit_many(thread):
        for n in range(6):
            data = f"thread {thread} commit {n} {os.urandom(16).hex()}\n".encode()
            path = f"t{thread}/{n}.txt"
            try:
                oid = alice.api.upload_file(path_or_fileobj=data, path_in_repo=path, repo_id=repo_id).oid
            except Exception as e:  # reported below, with the others
                errors.append(f"{path}: {e!r}")
                return
            acks.append((path, oid, data))

    threads = [threading.Thread(target=commit_many, args=(t,)) for t in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert len(acks) == 18

    history = [c.commit_id for c in alice.api.list_repo_commits(repo_id)]
    assert len(history) == 18 + 1
    assert {oid for _, oid, _ in acks} == set(history[:18])
    entries = {e.path: e for e in alice.api.list_repo_tree(repo_id, recursive=True) if isinstance(e, RepoFile)}
    for path, oid, data in acks:
        assert entries[path].blob_id == git_blob_sha1(data), path
        assert read(alice.api.hf_hub_download(repo_id, path, revision=oid, cache_dir=cache_dir)) == data, path


def test_upload_folder_under_a_path_in_repo(alice, tmp_path):
    repo_id = alice.new_repo_id("prefixed")
    alice.api.create_repo(repo_id)
    files = {"x.txt": b"x", "y/z.txt": b"z"}
    alice.api.upload_folder(repo_id=repo_id, folder_path=write_folder(tmp_path / "src", files), path_in_repo="sub dir")
    assert {"sub dir/x.txt", "sub dir/y/z.txt"} <= set(alice.api.list_repo_files(repo_id))
    assert "x.txt" not in alice.api.list_repo_files(repo_id)


def test_snapshot_download_fetches_every_file_of_the_head_commit(alice, tmp_path):
    repo_id = alice.new_repo_id("snapshot")
    alice.api.create_repo(repo_id)
    commit = alice.api.upload_folder(repo_id=repo_id, folder_path=write_folder(tmp_path / "src", FOLDER))
    cache_dir = tmp_path / "cache"

    snapshot = Path(alice.api.snapshot_download(repo_id, cache_dir=cache_dir))
    assert snapshot == storage_folder(cache_dir, repo_id) / "snapshots" / commit.oid
    downloaded = {p.relative_to(snapshot).as_posix() for p in snapshot.rglob("*") if not p.is_dir()}
    assert downloaded == set(alice.api.list_repo_files(repo_id))
    siblings = {s.rfilename: s for s in alice.api.model_info(repo_id, files_metadata=True).siblings}
    for rel, data in FOLDER.items():
        assert (snapshot / rel).read_bytes() == data, rel
        # Blobs are named by git SHA-1, or by SHA-256 for files the server chose to keep in LFS (with Xet, the
        # client may link that blob on to its shared store, named by Xet hash: the same file either way).
        expected_blob = sha256_hex(data) if siblings[rel].lfs else git_blob_sha1(data)
        blob = storage_folder(cache_dir, repo_id) / "blobs" / expected_blob
        assert (snapshot / rel).resolve() == blob.resolve(), rel


def test_snapshot_download_to_a_local_dir(lfs_repo, tmp_path):
    target = tmp_path / "local"
    lfs_repo.owner.read_api.snapshot_download(lfs_repo.repo_id, local_dir=target, cache_dir=tmp_path / "cache")
    assert (target / "config.json").read_bytes() == lfs_repo.small
    assert file_sha256(target / "weights.bin") == lfs_repo.big.sha256


def test_download_by_full_commit_id_returns_historical_content(alice, cache_dir):
    repo_id = alice.new_repo_id("history")
    alice.api.create_repo(repo_id)
    v1 = alice.api.upload_file(path_or_fileobj=b"version 1\n", path_in_repo="model.txt", repo_id=repo_id)
    alice.api.upload_file(path_or_fileobj=b"version 2\n", path_in_repo="model.txt", repo_id=repo_id)
    assert read(alice.api.hf_hub_download(repo_id, "model.txt", cache_dir=cache_dir)) == b"version 2\n"
    assert read(alice.api.hf_hub_download(repo_id, "model.txt", revision=v1.oid, cache_dir=cache_dir)) == (
        b"version 1\n"
    )


# --- deletions ----------------------------------------------------------------------------------------------


def test_delete_file(alice, cache_dir):
    repo_id = alice.new_repo_id()
    alice.api.create_repo(repo_id)
    alice.api.upload_file(path_or_fileobj=b"a", path_in_repo="a.txt", repo_id=repo_id)
    before = alice.api.upload_file(path_or_fileobj=b"b", path_in_repo="b.txt", repo_id=repo_id)

    commit = alice.api.delete_file("a.txt", repo_id, commit_message="Remove a")

    assert commit.oid != before.oid
    files = alice.api.list_repo_files(repo_id)
    assert "a.txt" not in files
    assert "b.txt" in files
    with pytest.raises(EntryNotFoundError):
        alice.api.hf_hub_download(repo_id, "a.txt", cache_dir=cache_dir)
    # History keeps it.
    assert read(alice.api.hf_hub_download(repo_id, "a.txt", revision=before.oid, cache_dir=cache_dir)) == b"a"


def test_delete_folder(alice, tmp_path):
    repo_id = alice.new_repo_id()
    alice.api.create_repo(repo_id)
    alice.api.upload_folder(repo_id=repo_id, folder_path=write_folder(tmp_path / "src", FOLDER))

    alice.api.delete_folder("data", repo_id)

    files = set(alice.api.list_repo_files(repo_id))
    assert not [f for f in files if f.startswith("data/")]
    assert {rel for rel in FOLDER if not rel.startswith("data/")} <= files


def test_deleting_a_missing_file_fails_and_changes_nothing(alice):
    repo_id = alice.new_repo_id()
    alice.api.create_repo(repo_id)
    head = alice.api.upload_file(path_or_fileobj=b"a", path_in_repo="a.txt", repo_id=repo_id).oid
    with pytest.raises(RemoteEntryNotFoundError):
        alice.api.delete_file("nope.txt", repo_id)
    assert alice.api.model_info(repo_id).sha == head


# --- conflicts, no-ops, pull requests -----------------------------------------------------------------------


def test_a_commit_on_a_stale_parent_is_refused_and_changes_nothing(alice):
    repo_id = alice.new_repo_id()
    alice.api.create_repo(repo_id)
    first = alice.api.upload_file(path_or_fileobj=b"1", path_in_repo="one.txt", repo_id=repo_id)
    second = alice.api.upload_file(path_or_fileobj=b"2", path_in_repo="two.txt", repo_id=repo_id)
    commits_before = len(alice.api.list_repo_commits(repo_id))

    with pytest.raises(HfHubHTTPError) as exc:
        alice.api.create_commit(
            repo_id,
            [CommitOperationAdd("three.txt", b"3")],
            commit_message="Based on an old head",
            parent_commit=first.oid,
        )
    assert 400 <= exc.value.response.status_code < 500

    assert alice.api.model_info(repo_id).sha == second.oid
    assert "three.txt" not in alice.api.list_repo_files(repo_id)
    assert len(alice.api.list_repo_commits(repo_id)) == commits_before

    # The current head as parent is accepted.
    third = alice.api.create_commit(
        repo_id, [CommitOperationAdd("three.txt", b"3")], commit_message="Up to date", parent_commit=second.oid
    )
    assert alice.api.model_info(repo_id).sha == third.oid


def test_reuploading_identical_content_makes_no_commit(alice):
    repo_id = alice.new_repo_id()
    alice.api.create_repo(repo_id)
    first = alice.api.upload_file(path_or_fileobj=b"same bytes\n", path_in_repo="same.txt", repo_id=repo_id)
    commits = len(alice.api.list_repo_commits(repo_id))

    again = alice.api.upload_file(path_or_fileobj=b"same bytes\n", path_in_repo="same.txt", repo_id=repo_id)

    assert again.oid == first.oid
    assert alice.api.model_info(repo_id).sha == first.oid
    assert len(alice.api.list_repo_commits(repo_id)) == commits


def test_reuploading_an_identical_large_file_makes_no_commit(lfs_repo):
    api = lfs_repo.owner.api
    head = api.model_info(lfs_repo.repo_id).sha
    commits = len(api.list_repo_commits(lfs_repo.repo_id))

    again = api.upload_file(path_or_fileobj=str(lfs_repo.big.path), path_in_repo="weights.bin", repo_id=lfs_repo.repo_id)

    assert again.oid == head
    assert len(api.list_repo_commits(lfs_repo.repo_id)) == commits


def test_create_pr_leaves_main_alone(alice, cache_dir):
    repo_id = alice.new_repo_id("pr")
    alice.api.create_repo(repo_id)
    base = alice.api.upload_file(path_or_fileobj=b"v1\n", path_in_repo="model.txt", repo_id=repo_id)

    pr = alice.api.create_commit(
        repo_id,
        [CommitOperationAdd("model.txt", b"v2\n"), CommitOperationAdd("new.txt", b"new\n")],
        commit_message="Propose v2",
        create_pr=True,
    )

    assert pr.pr_revision == "refs/pr/1"
    assert pr.pr_num == 1
    assert pr.pr_url.rstrip("/").endswith(f"{repo_id}/discussions/1")
    assert HEX40.fullmatch(pr.oid) and pr.oid != base.oid

    def get(path, revision):
        return read(alice.api.hf_hub_download(repo_id, path, revision=revision, cache_dir=cache_dir))

    assert get("model.txt", "refs/pr/1") == b"v2\n"
    assert get("new.txt", "refs/pr/1") == b"new\n"
    assert alice.api.model_info(repo_id, revision="refs/pr/1").sha == pr.oid

    assert alice.api.model_info(repo_id).sha == base.oid
    assert get("model.txt", "main") == b"v1\n"
    assert "new.txt" not in alice.api.list_repo_files(repo_id)

    second = alice.api.upload_file(path_or_fileobj=b"v3\n", path_in_repo="model.txt", repo_id=repo_id, create_pr=True)
    assert second.pr_revision == "refs/pr/2"
    assert get("model.txt", "refs/pr/2") == b"v3\n"
    assert get("model.txt", "refs/pr/1") == b"v2\n"


# --- downloads: errors, Range, offline ----------------------------------------------------------------------


def test_download_errors_name_what_is_missing(alice, cache_dir):
    repo_id = alice.new_repo_id()
    alice.api.create_repo(repo_id)
    alice.api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo_id)

    with pytest.raises(RemoteEntryNotFoundError) as exc:
        alice.api.hf_hub_download(repo_id, "missing.txt", cache_dir=cache_dir)
    assert isinstance(exc.value, EntryNotFoundError)
    with pytest.raises(RevisionNotFoundError):
        alice.api.hf_hub_download(repo_id, "x.txt", revision="no-such-branch", cache_dir=cache_dir)
    with pytest.raises(RevisionNotFoundError):
        alice.api.hf_hub_download(repo_id, "x.txt", revision="0" * 40, cache_dir=cache_dir)
    with pytest.raises(RepositoryNotFoundError):
        alice.api.hf_hub_download(f"{alice.name}/no-such-repo", "x.txt", cache_dir=cache_dir)
    with pytest.raises(RevisionNotFoundError):
        alice.api.model_info(repo_id, revision="no-such-branch")


def test_a_missing_file_is_remembered_in_the_cache(alice, cache_dir):
    """The 404 carries X-Repo-Commit, so the client records the miss and does not ask again for that commit."""
    repo_id = alice.new_repo_id()
    alice.api.create_repo(repo_id)
    head = alice.api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo_id).oid
    with pytest.raises(RemoteEntryNotFoundError):
        alice.api.hf_hub_download(repo_id, "missing.txt", cache_dir=cache_dir)
    assert (storage_folder(cache_dir, repo_id) / ".no_exist" / head / "missing.txt").exists()


def _metadata_etag(headers: dict[str, str]) -> str:
    etag = headers.get("x-linked-etag") or headers["etag"]
    return etag.removeprefix("W/").strip('"')


@pytest.mark.parametrize("which", ["regular", "lfs"])
def test_resolve_headers_name_the_commit_and_the_content(server, lfs_repo, which):
    api = lfs_repo.owner.api
    head = api.model_info(lfs_repo.repo_id).sha
    path, size, etag = {
        "regular": ("config.json", len(lfs_repo.small), git_blob_sha1(lfs_repo.small)),
        "lfs": ("weights.bin", lfs_repo.big.size, lfs_repo.big.sha256),
    }[which]
    for method in ("HEAD", "GET"):
        resp = http(method, resolve_url(server.endpoint, lfs_repo.repo_id, "main", path))
        assert resp.status == 200, method
        assert resp.headers["x-repo-commit"] == head, method
        assert _metadata_etag(resp.headers) == etag, method
        assert int(resp.headers["content-length"]) == size, method
        assert resp.headers.get("accept-ranges") == "bytes", method
        # Xet metadata only for files stored through Xet: large files when the client uploads with its defaults.
        stored_through_xet = which == "lfs" and not constants.HF_HUB_DISABLE_XET
        assert ("x-xet-hash" in resp.headers) == stored_through_xet, method
    assert len(resp.body) == size


@pytest.mark.parametrize("which", ["regular", "lfs"])
def test_range_requests_return_exactly_the_requested_bytes(server, lfs_repo, tmp_path, which):
    if which == "regular":
        local = tmp_path / "config.json"
        local.write_bytes(lfs_repo.small)
        path = "config.json"
    else:
        local, path = lfs_repo.big.path, "weights.bin"
    size = local.stat().st_size
    url = resolve_url(server.endpoint, lfs_repo.repo_id, "main", path)

    def ranged(spec):
        return http("GET", url, headers={"Range": f"bytes={spec}"}, token=lfs_repo.owner.read_token)

    resp = ranged("0-0")
    assert resp.status == 206
    assert resp.headers["content-range"] == f"bytes 0-0/{size}"
    assert resp.body == read_range(local, 0, 0)

    resp = ranged("3-9")
    assert resp.status == 206
    assert resp.headers["content-range"] == f"bytes 3-9/{size}"
    assert resp.body == read_range(local, 3, 9)

    # An end past the last byte is clamped, not refused (hf-hub asks for one byte too many).
    resp = ranged(f"{size - 4}-{size + 1000}")
    assert resp.status == 206
    assert resp.headers["content-range"] == f"bytes {size - 4}-{size - 1}/{size}"
    assert resp.body == read_range(local, size - 4, size - 1)

    # Open-ended, as a resumed download asks.
    start = size // 2
    resp = ranged(f"{start}-")
    assert resp.status == 206
    assert resp.headers["content-range"] == f"bytes {start}-{size - 1}/{size}"
    assert resp.body == read_range(local, start, size - 1)

    if which == "lfs":
        # Across the boundary of the 5 MiB parts the file was uploaded in.
        a, b = 5 * MIB - 100, 5 * MIB + 100
        resp = ranged(f"{a}-{b}")
        assert resp.status == 206
        assert resp.headers["content-range"] == f"bytes {a}-{b}/{size}"
        assert resp.body == read_range(local, a, b)


_OFFLINE_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from huggingface_hub import hf_hub_download
    repo_id, cache_dir, cached, not_cached = sys.argv[1:]
    out = {"path": hf_hub_download(repo_id, cached, cache_dir=cache_dir)}
    try:
        hf_hub_download(repo_id, not_cached, cache_dir=cache_dir)
        out["not_cached"] = "downloaded"
    except Exception as e:
        out["not_cached"] = type(e).__name__
    print(json.dumps(out))
    """
)


def test_offline_mode_serves_downloaded_files_from_the_cache(lfs_repo, cache_dir):
    api = lfs_repo.owner.read_api
    online = api.hf_hub_download(lfs_repo.repo_id, "weights.bin", cache_dir=cache_dir)

    env = dict(os.environ, HF_HUB_OFFLINE="1")
    result = subprocess.run(
        [sys.executable, "-c", _OFFLINE_SCRIPT, lfs_repo.repo_id, str(cache_dir), "weights.bin", "config.json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["path"] == online
    assert file_sha256(out["path"]) == lfs_repo.big.sha256
    # Proof that nothing came from the network: a file never downloaded is not available offline.
    assert out["not_cached"] == "LocalEntryNotFoundError"
