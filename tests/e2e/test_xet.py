"""Xet storage with the official client's default settings: large files go up and down through hf_xet, the same
files come out of /resolve as plain bytes (with Range), chunks are stored once, Xet tokens are bound to one repo and
to read or write, and unreferenced data is collected after deletions.

These tests run in the pass of the suite with the client's default settings (HANGAR_E2E_XET=1, see conftest.py).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from huggingface_hub import HfApi, constants

from cli_helpers import Proxy
from hangar_e2e import MIB, file_sha256, http, sha256_hex, unique_name, write_binary_file

pytestmark = pytest.mark.skipif(
    constants.HF_HUB_DISABLE_XET, reason="runs with the client's default settings (HANGAR_E2E_XET=1)"
)

GIB = 1024 * MIB


def write_binary(path: Path, size: int) -> str:
    """Random bytes starting with a NUL (so the server asks for a large-file upload at any size); their SHA-256."""
    return write_binary_file(path, size).sha256


def tree(server, token, repo_id, path="") -> dict[str, dict]:
    sub = f"/{path}" if path else ""
    resp = http("GET", f"{server.endpoint}/api/models/{repo_id}/tree/main{sub}?recursive=1", token=token)
    assert resp.status == 200, resp.body
    return {e["path"]: e for e in resp.json()}


def resolve(server, repo_id, path, rev="main"):
    return f"{server.endpoint}/{repo_id}/resolve/{rev}/{path}"


def stream_sha256(url: str, token: str) -> tuple[int, str]:
    """Downloads `url` as a plain client would (no Xet), hashing as it goes."""
    import urllib.request

    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    h = hashlib.sha256()
    n = 0
    with urllib.request.urlopen(req, timeout=300) as resp:
        while True:
            block = resp.read(4 * MIB)
            if not block:
                break
            h.update(block)
            n += len(block)
    return n, h.hexdigest()


def storage_bytes(server) -> int:
    root = Path(server.data_dir) / "blobs"
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def xet_token(server, token, repo_id, kind="read", rev="main"):
    return http("GET", f"{server.endpoint}/api/models/{repo_id}/xet-{kind}-token/{rev}", token=token)


@pytest.mark.parametrize("size", [1, 64 * 1024 + 1, 12 * MIB, 150 * MIB], ids=["1B", "64KiB+1", "12MiB", "150MiB"])
def test_upload_file_goes_through_xet_and_every_client_reads_the_same_bytes(server, alice, tmp_path, size):
    repo_id = alice.new_repo_id("xet")
    alice.api.create_repo(repo_id)
    src = tmp_path / "model.safetensors"
    sha = write_binary(src, size)
    proxy = Proxy(server.endpoint)
    try:
        HfApi(endpoint=proxy.endpoint, token=alice.write_token).upload_file(
            path_or_fileobj=str(src), path_in_repo="model.safetensors", repo_id=repo_id
        )
        uploaded = sum(s.request_bytes for s in proxy.seen if s.method == "POST" and s.path.startswith("/xet-cas/v1/xorbs/"))
        assert uploaded > 0, [f"{s.method} {s.path}" for s in proxy.seen]
        assert not any("/info/lfs/objects/batch" in s.path for s in proxy.seen), "the default client must not use LFS"

        # The tree says the file is stored through Xet, and its LFS identity is the SHA-256 of the content.
        entry = tree(server, alice.read_token, repo_id)["model.safetensors"]
        assert entry["lfs"]["oid"] == sha and entry["size"] == size
        assert len(entry["xetHash"]) == 64

        # A Xet-capable client downloads it through the CAS server.
        proxy.seen.clear()
        path = HfApi(endpoint=proxy.endpoint, token=alice.read_token).hf_hub_download(
            repo_id, "model.safetensors", cache_dir=tmp_path / "cache"
        )
        assert file_sha256(path) == sha
        assert any("/reconstructions/" in s.path for s in proxy.seen), [s.path for s in proxy.seen]
    finally:
        proxy.close()

    # /resolve announces Xet and serves the same bytes to everyone else.
    head = http("HEAD", resolve(server, repo_id, "model.safetensors"), token=alice.read_token)
    assert head.status == 200
    assert head.headers["x-xet-hash"] == entry["xetHash"]
    assert 'rel="xet-auth"' in head.headers["link"] and "xet-read-token" in head.headers["link"]
    assert head.headers["etag"] == f'"{sha}"' and head.headers["x-linked-size"] == str(size)
    assert stream_sha256(resolve(server, repo_id, "model.safetensors"), alice.read_token) == (size, sha)

    # Ranges: the first byte, the last byte, one across chunk boundaries.
    data_ranges = [(0, 0), (size - 1, size - 1), (size // 3, min(size - 1, size // 3 + 200_000))]
    with open(src, "rb") as f:
        for start, end in data_ranges:
            resp = http(
                "GET", resolve(server, repo_id, "model.safetensors"), token=alice.read_token, headers={"Range": f"bytes={start}-{end}"}
            )
            assert resp.status == 206, resp.status
            assert resp.headers["content-range"] == f"bytes {start}-{end}/{size}"
            f.seek(start)
            assert resp.body == f.read(end - start + 1)


@pytest.mark.big
def test_a_1_gib_file_round_trips_through_xet(server, alice, tmp_path):
    repo_id = alice.new_repo_id("xet-gib")
    alice.api.create_repo(repo_id)
    src = tmp_path / "big.bin"
    sha = write_binary(src, GIB)
    alice.api.upload_file(path_or_fileobj=str(src), path_in_repo="big.bin", repo_id=repo_id)
    path = alice.read_api.hf_hub_download(repo_id, "big.bin", cache_dir=tmp_path / "cache")
    assert file_sha256(path) == sha
    os.unlink(os.path.realpath(path))
    assert stream_sha256(resolve(server, repo_id, "big.bin"), alice.read_token) == (GIB, sha)


def test_upload_folder_and_snapshot_download_with_empty_small_and_large_files(server, alice, tmp_path):
    repo_id = alice.new_repo_id("xet-folder")
    alice.api.create_repo(repo_id)
    root = tmp_path / "folder"
    files: dict[str, str] = {}
    (root / "sub").mkdir(parents=True)
    (root / "empty.txt").write_bytes(b"")
    (root / "README.md").write_text("---\nlicense: mit\n---\n# A model\n")
    files["weights/a.bin"] = write_binary(root / "weights/a.bin", 3 * MIB + 17)
    files["weights/b.bin"] = write_binary(root / "weights/b.bin", 21 * MIB)
    # The same content twice: stored once, listed twice.
    (root / "weights/copy.bin").write_bytes((root / "weights/a.bin").read_bytes())
    files["weights/copy.bin"] = files["weights/a.bin"]
    files["empty.txt"] = sha256_hex(b"")
    files["README.md"] = file_sha256(root / "README.md")
    alice.api.upload_folder(folder_path=str(root), repo_id=repo_id)

    entries = tree(server, alice.read_token, repo_id)
    assert "xetHash" in entries["weights/b.bin"] and "xetHash" not in entries["README.md"]
    assert entries["weights/a.bin"]["xetHash"] == entries["weights/copy.bin"]["xetHash"]

    out = tmp_path / "out"
    alice.read_api.snapshot_download(repo_id, local_dir=out, cache_dir=tmp_path / "cache")
    for rel, sha in files.items():
        assert file_sha256(out / rel) == sha, rel


def test_the_hf_cli_uploads_and_downloads_through_xet(server, alice, hf, tmp_path):
    repo_id = alice.new_repo_id("xet-cli")
    src = tmp_path / "cli"
    sha = write_binary(src / "model.bin", 5 * MIB)
    (src / "config.json").write_text('{"hidden_size": 8}\n')
    hf("upload", repo_id, str(src), ".", token=alice.write_token)
    assert "xetHash" in tree(server, alice.read_token, repo_id)["model.bin"]
    out = tmp_path / "dl"
    hf("download", repo_id, "--local-dir", str(out), token=alice.read_token)
    assert file_sha256(out / "model.bin") == sha
    assert json.loads((out / "config.json").read_text()) == {"hidden_size": 8}


@pytest.mark.big
def test_a_changed_mebibyte_of_a_512_mib_file_sends_and_stores_only_a_little(server, alice, tmp_path):
    repo_id = alice.new_repo_id("xet-dedup")
    alice.api.create_repo(repo_id)
    size = 512 * MIB
    src = tmp_path / "model.safetensors"
    write_binary(src, size)
    alice.api.upload_file(path_or_fileobj=str(src), path_in_repo="model.safetensors", repo_id=repo_id)
    before = storage_bytes(server)

    # Change one MiB in the middle and upload again, through a proxy that counts what is sent.
    with open(src, "r+b") as f:
        f.seek(size // 2)
        f.write(os.urandom(MIB))
    sha = file_sha256(src)
    proxy = Proxy(server.endpoint)
    try:
        HfApi(endpoint=proxy.endpoint, token=alice.write_token).upload_file(
            path_or_fileobj=str(src), path_in_repo="model.safetensors", repo_id=repo_id
        )
        sent = sum(s.request_bytes for s in proxy.seen if s.path.startswith("/xet-cas/"))
    finally:
        proxy.close()
    grown = storage_bytes(server) - before
    print(f"second upload sent {sent} bytes ({100 * sent / size:.2f}%), storage grew {grown} bytes ({100 * grown / size:.2f}%)")
    assert sent < 0.05 * size
    assert grown < 0.05 * size
    path = alice.read_api.hf_hub_download(repo_id, "model.safetensors", cache_dir=tmp_path / "cache")
    assert file_sha256(path) == sha


# --- tokens and privacy on the Xet endpoints ---------------------------------------------------------------


@pytest.fixture
def private_xet_file(alice, tmp_path):
    repo_id = alice.new_repo_id("xet-private")
    alice.api.create_repo(repo_id, private=True)
    sha = write_binary(tmp_path / "secret.bin", 2 * MIB)
    alice.api.upload_file(path_or_fileobj=str(tmp_path / "secret.bin"), path_in_repo="secret.bin", repo_id=repo_id)
    return repo_id, sha


def test_xet_tokens_answer_as_the_hub_does(server, alice, private_xet_file):
    repo_id, _ = private_xet_file
    resp = xet_token(server, alice.read_token, repo_id, "read")
    assert resp.status == 200
    body = resp.json()
    assert body["casUrl"] == f"{server.endpoint}/xet-cas"
    assert body["accessToken"] and body["exp"] > 0
    assert resp.headers["x-xet-cas-url"] == body["casUrl"]
    assert resp.headers["x-xet-access-token"] == body["accessToken"]
    assert resp.headers["x-xet-token-expiration"] == str(body["exp"])
    # The Hangar token never appears in the Xet token.
    assert alice.read_token not in body["accessToken"]
    # create_pr uploads ask with the revision "None".
    assert http("GET", f"{server.endpoint}/api/models/{repo_id}/xet-write-token/None?create_pr=1", token=alice.write_token).status == 200


def test_a_read_token_never_gets_write_access_to_the_cas(server, alice, private_xet_file):
    repo_id, _ = private_xet_file
    assert xet_token(server, alice.read_token, repo_id, "write").status == 403
    read_xet = xet_token(server, alice.read_token, repo_id, "read").json()
    for path in ("/v1/xorbs/default/" + "0" * 64, "/v1/shards"):
        resp = http("POST", read_xet["casUrl"] + path, token=read_xet["accessToken"], body=b"\0" * 64)
        assert resp.status == 403, (path, resp.status, resp.body)


def test_strangers_cannot_learn_of_or_read_a_private_repos_files(server, alice, bob, private_xet_file):
    repo_id, _ = private_xet_file
    # No token for the repo at all: the same answer as a missing repo.
    assert xet_token(server, bob.write_token, repo_id, "read").status == 404
    assert xet_token(server, None, repo_id, "read").status == 401
    # Bob's own Xet token (for his repo) cannot reconstruct Alice's file, whose hash he learned somehow.
    file_hash = tree(server, alice.read_token, repo_id)["secret.bin"]["xetHash"]
    bobs = bob.new_repo_id("mine")
    bob.api.create_repo(bobs)
    bob_xet = xet_token(server, bob.write_token, bobs, "write").json()
    for version in ("v1", "v2"):
        resp = http("GET", f"{bob_xet['casUrl']}/{version}/reconstructions/{file_hash}", token=bob_xet["accessToken"])
        assert resp.status == 404, resp.body
    # Alice's read token can.
    alice_xet = xet_token(server, alice.read_token, repo_id, "read").json()
    resp = http("GET", f"{alice_xet['casUrl']}/v1/reconstructions/{file_hash}", token=alice_xet["accessToken"])
    assert resp.status == 200 and resp.json()["terms"]
    # Fetch URLs are signed: a changed signature is refused.
    url = next(iter(resp.json()["fetch_info"].values()))[0]["url"]
    assert http("GET", url[:-4] + "0000").status == 403


def test_cas_requests_need_a_valid_xet_token(server, alice, private_xet_file):
    repo_id, _ = private_xet_file
    file_hash = tree(server, alice.read_token, repo_id)["secret.bin"]["xetHash"]
    url = f"{server.endpoint}/xet-cas/v1/reconstructions/{file_hash}"
    assert http("GET", url).status == 401
    assert http("GET", url, token="xet1.1.r.a.99999999999.deadbeef").status == 401
    # A Hangar token is not a Xet token.
    assert http("GET", url, token=alice.read_token).status == 401


def test_revoking_the_hangar_token_ends_its_xet_tokens(server, alice, private_xet_file):
    repo_id, _ = private_xet_file
    secret = server.create_token(alice.name, "short-lived", "read")
    xet = xet_token(server, secret, repo_id, "read").json()
    file_hash = tree(server, alice.read_token, repo_id)["secret.bin"]["xetHash"]
    url = f"{xet['casUrl']}/v1/reconstructions/{file_hash}"
    assert http("GET", url, token=xet["accessToken"]).status == 200
    server.revoke_token(alice.name, "short-lived")
    assert http("GET", url, token=xet["accessToken"]).status == 401
    assert xet_token(server, secret, repo_id, "read").status == 401


def test_malformed_uploads_get_a_4xx_and_store_nothing(server, alice):
    repo_id = alice.new_repo_id("xet-bad")
    alice.api.create_repo(repo_id)
    xet = xet_token(server, alice.write_token, repo_id, "write").json()
    before = storage_bytes(server)
    garbage = os.urandom(100_000)
    cases = [
        ("/v1/xorbs/default/" + hashlib.sha256(garbage).hexdigest(), garbage),
        ("/v1/xorbs/default/not-a-hash", garbage),
        ("/v1/xorbs/default/" + "ab" * 32, b""),
        ("/v1/shards", garbage),
        ("/v1/shards", b""),
    ]
    for path, body in cases:
        resp = http("POST", xet["casUrl"] + path, token=xet["accessToken"], body=body)
        assert 400 <= resp.status < 500, (path, resp.status, resp.body)
        assert resp.json().get("error"), resp.body
    assert storage_bytes(server) == before


def test_deleted_repos_data_is_collected_and_shared_chunks_survive(server, alice, tmp_path):
    keep = alice.new_repo_id("xet-keep")
    drop = alice.new_repo_id("xet-drop")
    for r in (keep, drop):
        alice.api.create_repo(r)
    shared = tmp_path / "shared.bin"
    shared_sha = write_binary(shared, 4 * MIB)
    alice.api.upload_file(path_or_fileobj=str(shared), path_in_repo="shared.bin", repo_id=keep)
    alice.api.upload_file(path_or_fileobj=str(shared), path_in_repo="shared.bin", repo_id=drop)
    only = tmp_path / "only.bin"
    write_binary(only, 6 * MIB)
    alice.api.upload_file(path_or_fileobj=str(only), path_in_repo="only.bin", repo_id=drop)
    before = storage_bytes(server)

    alice.admin_api.delete_repo(drop)
    collected = json.loads(server.admin("gc", "--grace-secs", "0", "--json"))
    assert collected["files"] >= 1 and collected["xorbs"] >= 1, collected
    assert before - storage_bytes(server) >= 5 * MIB, "the deleted repo's own chunks are gone"

    # The file both repos had is still whole in the repo that remains.
    path = alice.read_api.hf_hub_download(keep, "shared.bin", cache_dir=tmp_path / unique_name("cache"))
    assert file_sha256(path) == shared_sha
    assert stream_sha256(resolve(server, keep, "shared.bin"), alice.read_token) == (4 * MIB, shared_sha)
