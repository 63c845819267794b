"""The official Rust `hf-hub` crate, versions 0.4.3 and 1.0.0, downloads from Hangar, and 1.0.0 uploads to it.

The clients are driven through `tests/hf-hub-compat`, a small binary built against both crate versions
(`cargo build --release` in that folder). It prints one JSON line per call. Files are uploaded with the
Python client; every Rust client variant then downloads each of them into a fresh cache, and the test
checks the bytes and the cache layout the client wrote (hub-api.md §5.4, §12).

Xet, in both passes of the suite: hf-hub 1.x uploads a large file through Xet (it offers "xet" in the LFS batch
request and the server answers `"transfer": "xet"`), and a large file uploaded through Xet by the Python client
with its default settings (run in a subprocess, so the suite's HF_HUB_DISABLE_XET does not apply) and the one
uploaded by hf-hub 1.x download back identical with every Rust client: 1.x through the CAS server (the resolve
HEAD announces X-Xet-Hash), 0.4 with plain GETs and Ranges on /resolve, which streams the file from its chunks.

Each client reads its token the way it does for real users (hub-api.md §1.2): hf-hub 0.4 only from
`$HF_HOME/token`, hf-hub 1.x from `HF_TOKEN` (then the token file).

Environment:
    HF_HUB_COMPAT_BIN   the compat binary (default: tests/hf-hub-compat/target/release/hf-hub-compat in this
                        repository; a relative path is taken from the repository root). Set it to an empty
                        string to skip this module; otherwise a missing binary is a failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from cli_helpers import Proxy
from hangar_e2e import MIB, git_blob_sha1, http, sha256_hex, write_binary_file, write_random_file
from python_clients import PythonClient

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_COMPAT_BIN = REPO_ROOT / "tests" / "hf-hub-compat" / "target" / "release" / "hf-hub-compat"

DOWNLOAD_CLIENTS = ("0.4-sync", "0.4-tokio", "1")
INFO_CLIENTS = ("0.4-sync", "1")

# hf-hub 0.4 (tokio) fetches 10_000_000-byte ranges and asks for one byte past the end in the last one
# (hub-api.md §12.1); a size that is not a multiple of the chunk makes that last, clamped range happen.
TOKIO_CHUNK = 10_000_000
BIG_SIZE = 21 * MIB + 4321
assert BIG_SIZE > 10 * MIB and BIG_SIZE % TOKIO_CHUNK != 0
# Files stored through Xet: two 10 MB ranges for hf-hub 0.4 (tokio), the second one clamped.
XET_SIZE = 12 * MIB + 4321
assert XET_SIZE > TOKIO_CHUNK and XET_SIZE % TOKIO_CHUNK != 0

_SKIP_REASON = "HF_HUB_COMPAT_BIN is set to an empty string: Rust hf-hub compatibility checks disabled"
pytestmark = [
    pytest.mark.skipif(os.environ.get("HF_HUB_COMPAT_BIN") == "", reason=_SKIP_REASON),
    # Check for the binary before the server starts and the module's files are uploaded.
    pytest.mark.usefixtures("compat_bin"),
]

# Variables through which a developer's own Hub setup could reach the Rust clients.
_HUB_ENV = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_HOME", "HF_HUB_CACHE",
            "HUGGINGFACE_HUB_CACHE", "HF_HUB_DISABLE_IMPLICIT_TOKEN", "XDG_CACHE_HOME")


# --- the compat binary --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def compat_bin() -> Path:
    value = os.environ.get("HF_HUB_COMPAT_BIN")
    if value == "":
        pytest.skip(_SKIP_REASON)
    path = Path(value) if value else DEFAULT_COMPAT_BIN
    if not path.is_absolute():
        path = REPO_ROOT / path
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(
            f"hf-hub-compat binary not found at {path}: run `cargo build --release` in tests/hf-hub-compat, "
            "point HF_HUB_COMPAT_BIN at it, or set HF_HUB_COMPAT_BIN= (empty) to skip these tests",
            pytrace=False,
        )
    return path


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    args: list[str]

    def json(self) -> dict:
        assert self.returncode == 0, f"hf-hub-compat {' '.join(self.args)} failed:\n{self.stderr}"
        lines = self.stdout.strip().splitlines()
        assert len(lines) == 1, f"expected one JSON line, got {self.stdout!r}"
        return json.loads(lines[0])


class Compat:
    """Runs the compat binary with a clean, per-call Hub environment."""

    def __init__(self, binary: Path, endpoint: str, tmp_path: Path):
        self.binary = binary
        self.endpoint = endpoint
        self.tmp_path = tmp_path
        self._n = 0

    def _fresh_dir(self, kind: str) -> Path:
        self._n += 1
        path = self.tmp_path / f"{kind}-{self._n}"
        path.mkdir(parents=True)
        return path

    def env(self, client: str, token: str | None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _HUB_ENV}
        hf_home = self._fresh_dir("hf-home")
        env.update(HF_ENDPOINT=self.endpoint, HF_HOME=str(hf_home), RUST_BACKTRACE="1")
        if token is not None:
            if client.startswith("0.4"):
                (hf_home / "token").write_text(token + "\n")  # the only place 0.4 looks
            else:
                env["HF_TOKEN"] = token
        return env

    def run(self, client: str, token: str | None, *args: str) -> Run:
        argv = [*args[:1], "--client", client, *args[1:]]
        result = subprocess.run(
            [str(self.binary), *argv],
            env=self.env(client, token),
            capture_output=True,
            text=True,
            timeout=90,
            stdin=subprocess.DEVNULL,
        )
        return Run(result.returncode, result.stdout, result.stderr, argv)

    def download(self, client: str, token: str | None, repo_id: str, filename: str) -> tuple[Run, Path]:
        cache = self._fresh_dir("cache")
        run = self.run(client, token, "download", "--repo", repo_id, "--file", filename, "--cache-dir", str(cache))
        return run, cache

    def info(self, client: str, token: str | None, repo_id: str) -> Run:
        return self.run(client, token, "info", "--repo", repo_id)

    def upload(self, token: str, repo_id: str, local: Path, path_in_repo: str) -> Run:
        """hf-hub 1.x `upload_file` (0.4 cannot upload)."""
        return self.run("1", token, "upload", "--repo", repo_id, "--file", str(local), "--path-in-repo", path_in_repo)


@pytest.fixture
def compat(compat_bin, server, tmp_path) -> Compat:
    return Compat(compat_bin, server.endpoint, tmp_path)


# --- repositories, uploaded once per module with the Python client ------------------------------------------


@dataclass
class Uploaded:
    data: bytes
    lfs: bool

    @property
    def etag(self) -> str:
        """The blob name every client cache uses: git blob SHA-1, or SHA-256 for LFS files (hub-api.md §5.3)."""
        return sha256_hex(self.data) if self.lfs else git_blob_sha1(self.data)


@dataclass
class Repo:
    repo_id: str
    files: dict[str, Uploaded]
    read_token: str
    commit: str


FILES = ("hello.txt", "empty.txt", "big.bin")


@pytest.fixture(scope="module")
def owner(make_user):
    return make_user("rusty")


def _upload(owner, repo_id: str, files: dict[str, Uploaded], source_dir: Path) -> str:
    for name, f in files.items():
        if len(f.data) > MIB:  # large files go by path, as a user would upload them
            path = source_dir / name
            path.write_bytes(f.data)
            owner.api.upload_file(path_or_fileobj=str(path), path_in_repo=name, repo_id=repo_id)
        else:
            owner.api.upload_file(path_or_fileobj=f.data, path_in_repo=name, repo_id=repo_id)
    return owner.api.model_info(repo_id).sha


@pytest.fixture(scope="module")
def public_repo(owner, tmp_path_factory) -> Repo:
    source = tmp_path_factory.mktemp("rust-upload")
    big = write_random_file(source / "big.bin", BIG_SIZE)
    files = {
        "hello.txt": Uploaded(b"Hello from Hangar to hf-hub (Rust)!\n", lfs=False),
        "empty.txt": Uploaded(b"", lfs=False),
        "big.bin": Uploaded(big.path.read_bytes(), lfs=True),  # > 10 MB: the LFS batch API
    }
    repo_id = owner.new_repo_id("rust-dl")
    owner.api.create_repo(repo_id)
    commit = _upload(owner, repo_id, files, source)
    return Repo(repo_id, files, owner.read_token, commit)


@pytest.fixture(scope="module")
def private_repo(owner, tmp_path_factory) -> Repo:
    files = {"secret.txt": Uploaded(b"only for the owner\n", lfs=False)}
    repo_id = owner.new_repo_id("rust-private")
    owner.api.create_repo(repo_id, private=True)
    commit = _upload(owner, repo_id, files, tmp_path_factory.mktemp("rust-upload-private"))
    return Repo(repo_id, files, owner.read_token, commit)


@dataclass
class XetRepo(Repo):
    # METHOD path of every request hf-hub 1.x made for its uploads (through a proxy).
    rust_upload_routes: list[str]


XET_FILES = ("python.bin", "rust.bin", "rust-notes.txt")


@pytest.fixture(scope="module")
def xet_repo(owner, compat_bin, server, tmp_path_factory) -> XetRepo:
    work = tmp_path_factory.mktemp("rust-xet")
    repo_id = owner.new_repo_id("rust-xet")
    owner.api.create_repo(repo_id)
    # The suite's Python client with its default settings: through Xet, in both passes of the suite.
    python_bin = write_binary_file(work / "src" / "python.bin", XET_SIZE)
    PythonClient(Path(sys.executable), server.endpoint, work / "python").upload(
        repo_id, python_bin.path, "python.bin", token=owner.write_token, xet=True
    )
    # hf-hub 1.x, through a proxy that records the routes it uses.
    rust_bin = write_binary_file(work / "src" / "rust.bin", XET_SIZE)
    notes = work / "src" / "rust-notes.txt"
    notes.write_text("uploaded by hf-hub 1.x: a small text file, inlined in the commit\n")
    proxy = Proxy(server.endpoint)
    try:
        compat = Compat(compat_bin, proxy.endpoint, work / "compat")
        for local in (rust_bin.path, notes):
            out = compat.upload(owner.write_token, repo_id, local, local.name).json()
            assert out["path_in_repo"] == local.name, out
        routes = [f"{s.method} {s.path.split('?', 1)[0]}" for s in proxy.seen]
    finally:
        proxy.close()
    files = {
        "python.bin": Uploaded(python_bin.path.read_bytes(), lfs=True),
        "rust.bin": Uploaded(rust_bin.path.read_bytes(), lfs=True),
        "rust-notes.txt": Uploaded(notes.read_bytes(), lfs=False),
    }
    head = owner.api.model_info(repo_id).sha
    assert out["commit"] == head, "hf-hub 1.x should return the id of the commit it made"
    return XetRepo(repo_id, files, owner.read_token, head, routes)


def tree(server, token: str, repo_id: str) -> dict[str, dict]:
    resp = http("GET", f"{server.endpoint}/api/models/{repo_id}/tree/main?recursive=1", token=token)
    assert resp.status == 200, resp.body
    return {e["path"]: e for e in resp.json()}


# --- checks ---------------------------------------------------------------------------------------------------


def assert_downloaded(run: Run, cache: Path, repo: Repo, filename: str) -> None:
    expected = repo.files[filename]
    out = run.json()
    assert out["size"] == len(expected.data), f"{filename}: wrong size"
    assert out["sha256"] == sha256_hex(expected.data), f"{filename}: the downloaded bytes differ from the upload"

    ns, name = repo.repo_id.split("/")
    repo_dir = cache / f"models--{ns}--{name}"
    pointer = repo_dir / "snapshots" / repo.commit / filename
    blob = repo_dir / "blobs" / expected.etag
    kind = "the SHA-256 of the content (LFS file)" if expected.lfs else "the git blob SHA-1 of the content"
    blobs = sorted(p.name for p in (repo_dir / "blobs").iterdir()) if (repo_dir / "blobs").is_dir() else []
    assert blob.is_file(), f"{filename}: blobs/ should hold {expected.etag} ({kind}); it has {blobs}"
    assert not [b for b in blobs if b.endswith((".part", ".incomplete"))], f"partial downloads left: {blobs}"
    assert blob.stat().st_size == len(expected.data)

    assert Path(out["path"]) == pointer, "the client should return snapshots/<commit>/<path>"
    assert pointer.is_symlink(), f"{pointer} should be a symlink into blobs/"
    assert not os.path.isabs(os.readlink(pointer)), "snapshot symlinks are relative"
    assert pointer.resolve() == blob.resolve()
    assert (repo_dir / "refs" / "main").read_text().strip() == repo.commit


# --- tests ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("filename", FILES)
@pytest.mark.parametrize("client", DOWNLOAD_CLIENTS)
def test_download_matches_upload_and_uses_the_standard_cache_layout(compat, public_repo, client, filename):
    run, cache = compat.download(client, public_repo.read_token, public_repo.repo_id, filename)
    assert_downloaded(run, cache, public_repo, filename)


@pytest.mark.parametrize("client", INFO_CLIENTS)
def test_info_returns_the_head_commit_and_the_file_list(compat, owner, public_repo, client):
    out = compat.info(client, public_repo.read_token, public_repo.repo_id).json()
    assert out["sha"] == owner.api.model_info(public_repo.repo_id).sha == public_repo.commit
    files = out["files"]
    assert files is not None, "repo info has no `siblings`"
    assert sorted(set(files)) == sorted(files), f"duplicate siblings: {files}"
    # A new repo may also hold files the server writes itself (such as .gitattributes); ours must all be there.
    assert set(FILES) <= set(files), f"siblings {files} lack some of {FILES}"
    assert set(files) == set(owner.api.list_repo_files(public_repo.repo_id))


@pytest.mark.parametrize("client", DOWNLOAD_CLIENTS)
def test_private_repo_downloads_with_the_owner_token(compat, private_repo, client):
    run, cache = compat.download(client, private_repo.read_token, private_repo.repo_id, "secret.txt")
    assert_downloaded(run, cache, private_repo, "secret.txt")


@pytest.mark.parametrize("client", DOWNLOAD_CLIENTS)
def test_private_repo_download_fails_without_a_token(compat, private_repo, client):
    run, cache = compat.download(client, None, private_repo.repo_id, "secret.txt")
    assert run.returncode != 0, f"an anonymous {client} client downloaded a private file: {run.stdout}"
    assert run.stdout == ""
    assert run.stderr.strip(), "the failure should be reported on stderr"
    leaked = [p for p in cache.rglob("*") if p.is_file() and p.stat().st_size > 0]
    assert not leaked, f"files written for a private repo without a token: {leaked}"


@pytest.mark.parametrize("client", INFO_CLIENTS)
def test_private_repo_info_needs_the_owner_token(compat, private_repo, client):
    assert compat.info(client, private_repo.read_token, private_repo.repo_id).json()["sha"] == private_repo.commit
    anonymous = compat.info(client, None, private_repo.repo_id)
    assert anonymous.returncode != 0, f"an anonymous {client} client read a private repo's info: {anonymous.stdout}"


# --- Xet ------------------------------------------------------------------------------------------------------


def test_hf_hub_1_uploads_a_large_file_through_xet(server, xet_repo):
    entries = tree(server, xet_repo.read_token, xet_repo.repo_id)
    routes = xet_repo.rust_upload_routes
    for name in ("python.bin", "rust.bin"):
        data = xet_repo.files[name].data
        entry = entries[name]
        assert entry["size"] == len(data)
        assert entry["lfs"]["oid"] == sha256_hex(data), f"{name}: {entry}"
        assert len(entry.get("xetHash", "")) == 64, f"{name} was not stored through Xet: {entry}"
    # hf-hub 1.x negotiated Xet in the LFS batch request, then sent the file's chunks to the CAS server.
    assert any(r.startswith("POST ") and r.endswith(".git/info/lfs/objects/batch") for r in routes), routes
    assert any("/xet-write-token/" in r for r in routes), routes
    assert any(r.startswith("POST /xet-cas/v1/xorbs/") for r in routes), routes
    assert not any(r.startswith("PUT ") for r in routes), f"hf-hub 1.x has no LFS upload: {routes}"
    # The small text file went inline in the commit: a regular file.
    notes = entries["rust-notes.txt"]
    assert notes.get("lfs") is None and "xetHash" not in notes, notes
    assert notes["oid"] == git_blob_sha1(xet_repo.files["rust-notes.txt"].data)


@pytest.mark.parametrize("filename", XET_FILES)
@pytest.mark.parametrize("client", DOWNLOAD_CLIENTS)
def test_files_uploaded_through_xet_download_identical_with_every_client(compat_bin, server, tmp_path, xet_repo, client, filename):
    proxy = Proxy(server.endpoint)
    try:
        run, cache = Compat(compat_bin, proxy.endpoint, tmp_path).download(
            client, xet_repo.read_token, xet_repo.repo_id, filename
        )
        routes = [f"{s.method} {s.path.split('?', 1)[0]}" for s in proxy.seen]
    finally:
        proxy.close()
    assert_downloaded(run, cache, xet_repo, filename)
    if client == "1" and xet_repo.files[filename].lfs:
        # The resolve HEAD announced X-Xet-Hash: hf-hub 1.x reads the file from the CAS server.
        assert any("/xet-read-token/" in r for r in routes), routes
        assert any("/reconstructions/" in r for r in routes), routes
    else:
        # hf-hub 0.4 knows nothing of Xet: plain GETs (with Range) on /resolve, which streams the file from its chunks.
        assert not any(r.startswith(("GET /xet-cas/", "POST /xet-cas/")) for r in routes), routes
        resolves = [r for r in routes if r.startswith("GET ") and "/resolve/" in r]
        assert resolves, routes
        if client == "0.4-tokio" and xet_repo.files[filename].lfs:
            # The probe (bytes=0-0), then two 10 MB ranges, the second one past the end of the file.
            assert len(resolves) >= 3, routes
