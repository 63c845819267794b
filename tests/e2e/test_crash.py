"""Durability: a commit the server acknowledged survives SIGKILL of the server.

A separate server (own data directory, own port) takes concurrent commits from several threads, small files
inline and ~11 MiB files through LFS, two threads per repo so commits to one branch race. Once enough commits
are acknowledged and uploads are in flight, the server is killed with SIGKILL and restarted on the same data
directory. Every acknowledged commit must then be readable by its id, with the bytes that were uploaded, and
be part of its branch's history.
"""

from __future__ import annotations

import os
import threading
import traceback
from dataclasses import dataclass

import pytest
from huggingface_hub import HfApi, RepoFile

from hangar_e2e import (
    MIB,
    HangarServer,
    database_url,
    file_sha256,
    free_port,
    git_blob_sha1,
    hangar_bin,
    sha256_hex,
    unique_name,
)

pytestmark = [pytest.mark.crash, pytest.mark.timeout(300)]

THREADS = 4
REPOS = 2
ACKS_BEFORE_KILL = 12
LFS_EVERY = 4  # every 4th upload of a thread is a large file
LFS_SIZE = 11 * MIB


@dataclass(frozen=True)
class Ack:
    repo_id: str
    path: str
    oid: str
    sha256: str
    git_sha1: str
    lfs: bool


class Uploads:
    """Shared state of the upload threads; every change wakes the main thread."""

    def __init__(self):
        self.cond = threading.Condition()
        self.acks: list[Ack] = []
        self.in_flight = 0
        self.unexpected: list[str] = []
        self.stop = threading.Event()
        self.killed = threading.Event()


def upload_loop(state: Uploads, api: HfApi, repo_id: str, thread: int) -> None:
    n = 0
    while not state.stop.is_set():
        n += 1
        large = n % LFS_EVERY == 0
        data = os.urandom(LFS_SIZE) if large else f"thread {thread} upload {n} {os.urandom(16).hex()}\n".encode()
        path = f"t{thread}/{n:04d}.{'bin' if large else 'txt'}"
        with state.cond:
            state.in_flight += 1
            state.cond.notify_all()
        try:
            commit = api.upload_file(
                path_or_fileobj=data, path_in_repo=path, repo_id=repo_id, commit_message=f"t{thread} #{n}"
            )
        except Exception:
            with state.cond:
                state.in_flight -= 1
                if not state.killed.is_set():
                    state.unexpected.append(f"{path} failed before the kill:\n{traceback.format_exc()}")
                state.cond.notify_all()
            return
        ack = Ack(repo_id, path, commit.oid, sha256_hex(data), git_blob_sha1(data), large)
        with state.cond:
            state.in_flight -= 1
            state.acks.append(ack)
            state.cond.notify_all()


@pytest.fixture
def crash_server(tmp_path):
    srv = HangarServer(hangar_bin(), tmp_path / "data", free_port(), database_url(), tmp_path / "server.log")
    yield srv
    srv.stop()


def test_acknowledged_commits_survive_sigkill(crash_server, tmp_path):
    srv = crash_server
    user = unique_name("crash")
    srv.create_user(user, f"{user}@example.test", "crash-test-password")
    token = srv.create_token(user, "crash-write", "write")
    srv.start()

    api = HfApi(endpoint=srv.endpoint, token=token)
    repos = [f"{user}/durable-{i}" for i in range(REPOS)]
    for repo_id in repos:
        api.create_repo(repo_id)

    state = Uploads()
    threads = [
        threading.Thread(target=upload_loop, args=(state, api, repos[i % REPOS], i), daemon=True, name=f"upload-{i}")
        for i in range(THREADS)
    ]
    for t in threads:
        t.start()

    with state.cond:
        ready = state.cond.wait_for(
            lambda: state.unexpected
            or not any(t.is_alive() for t in threads)
            or (len(state.acks) >= ACKS_BEFORE_KILL and state.in_flight >= 2),
            timeout=180,
        )
        assert not state.unexpected, "uploads failed before the crash:\n" + "\n".join(state.unexpected)
        assert ready, f"only {len(state.acks)} commits acknowledged in 180 s\n{srv.log_tail()}"
        state.stop.set()
        state.killed.set()
        in_flight_at_kill = state.in_flight
        acked_before_kill = list(state.acks)
        srv.kill()
    assert in_flight_at_kill >= 2 and len(acked_before_kill) >= ACKS_BEFORE_KILL

    srv.start()
    for t in threads:
        t.join(timeout=120)
        assert not t.is_alive(), f"{t.name} still running two minutes after the restart"
    # Uploads in flight at the kill may have completed against the restarted server (the client retries
    # LFS transfers): those acknowledgements count too.
    acks = list(state.acks)
    assert len({a.oid for a in acks}) == len(acks), "two acknowledged uploads share a commit id"

    reader = HfApi(endpoint=srv.endpoint, token=token)
    log = srv.log_tail
    for repo_id in repos:
        repo_acks = [a for a in acks if a.repo_id == repo_id]
        history = [c.commit_id for c in reader.list_repo_commits(repo_id)]
        assert len(history) == len(set(history))
        assert reader.model_info(repo_id).sha == history[0]
        missing = [a for a in repo_acks if a.oid not in history]
        assert not missing, f"acknowledged commits missing from {repo_id}@main: {missing}\n{log()}"

        # Each thread wrote its own paths, so main must hold every acknowledged file with its bytes.
        files = {e.path: e for e in reader.list_repo_tree(repo_id, recursive=True) if isinstance(e, RepoFile)}
        for a in repo_acks:
            assert a.path in files, f"{a.path} (commit {a.oid}) is not on {repo_id}@main"
            entry = files[a.path]
            if a.lfs:
                assert entry.lfs is not None and entry.lfs.sha256 == a.sha256, a
            else:
                assert entry.blob_id == a.git_sha1, a

    verify_cache = tmp_path / "verify-cache"
    for a in acks:
        path = reader.hf_hub_download(a.repo_id, a.path, revision=a.oid, cache_dir=verify_cache)
        assert file_sha256(path) == a.sha256, f"{a.path} at {a.oid} does not have the uploaded bytes"

    # The restarted server keeps accepting commits on top of the recovered heads.
    for repo_id in repos:
        head = reader.model_info(repo_id).sha
        after = api.upload_file(path_or_fileobj=b"after the crash\n", path_in_repo="after.txt", repo_id=repo_id)
        assert after.oid != head
        assert [c.commit_id for c in reader.list_repo_commits(repo_id)][:2] == [after.oid, head]
