"""Helpers shared by the end-to-end tests: the server process, hashes as the Hub computes them, raw HTTP."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def hangar_bin() -> Path:
    """The binary under test: $HANGAR_BIN, else the debug build of this checkout. Made absolute, because the CLI
    tests run it from their own working directory."""
    return Path(os.environ.get("HANGAR_BIN") or REPO_ROOT / "target" / "debug" / "hangar").absolute()


def database_url() -> str | None:
    """$HANGAR_TEST_DATABASE_URL, passed as --database-url; unset means SQLite in the data directory."""
    return os.environ.get("HANGAR_TEST_DATABASE_URL") or None


# Names must not collide with those of an earlier run when the database outlives the run (PostgreSQL).
RUN_ID = secrets.token_hex(3)
_counter = itertools.count(1)

MIB = 1024 * 1024


def unique_name(prefix: str) -> str:
    """A repo or user name unique to this run: `prefix-<run>-<n>`, valid as a Hub name part."""
    return f"{prefix}-{RUN_ID}-{next(_counter)}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- hashes, as git and the Hub compute them -------------------------------------------------------------


def git_blob_sha1(data: bytes) -> str:
    """The git object id of a blob: the ETag and tree `oid` of a regular file."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path | str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(MIB), b""):
            h.update(chunk)
    return h.hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    """The git-lfs pointer file that stands for an LFS file in the git tree."""
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def assert_lfs_entry(entry, big: "BigFile") -> None:
    """A tree entry or repo-info sibling describes `big` as the Hub does: the LFS pointer's git id as its
    blob id, and the file's SHA-256, size and pointer size under `lfs`."""
    assert entry.size == big.size
    assert entry.lfs is not None
    assert entry.lfs.sha256 == big.sha256
    assert entry.lfs.size == big.size
    pointer = lfs_pointer(big.sha256, big.size)
    assert entry.lfs.pointer_size == len(pointer)
    assert entry.blob_id == git_blob_sha1(pointer)


@dataclass
class BigFile:
    path: Path
    size: int
    sha256: str


def write_random_file(path: Path, size: int, *, nul_first: bool = False) -> BigFile:
    """Writes `size` random bytes in 1 MiB chunks, hashing as it goes. With `nul_first`, the first byte is NUL."""
    h = hashlib.sha256()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        remaining = size
        while remaining:
            chunk = os.urandom(min(MIB, remaining))
            if nul_first and remaining == size:
                chunk = b"\0" + chunk[1:]
            h.update(chunk)
            f.write(chunk)
            remaining -= len(chunk)
    return BigFile(path=path, size=size, sha256=h.hexdigest())


def write_binary_file(path: Path, size: int) -> BigFile:
    """Random bytes starting with a NUL: the server classifies the file as binary, so the client uploads it as a
    large file (LFS or Xet) whatever its size."""
    return write_random_file(path, size, nul_first=True)


def read_range(path: Path | str, start: int, end_inclusive: int) -> bytes:
    with open(path, "rb") as f:
        f.seek(start)
        return f.read(end_inclusive - start + 1)


# --- tokens ------------------------------------------------------------------------------------------------

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def token_checksum(random_part: str) -> str:
    """The 5-letter checksum of a token (mirrors crates/hangar-core/src/token.rs)."""
    n = int.from_bytes(hashlib.sha256(random_part.encode()).digest()[:8], "big")
    out = []
    for _ in range(5):
        out.append(_ALPHABET[n % 52])
        n //= 52
    return "".join(out)


def well_formed_unknown_token() -> str:
    """A token with a valid checksum that no server ever issued: it must fail at the lookup, not the shape check."""
    body = "".join(secrets.choice(_ALPHABET) for _ in range(29))
    return "hf_" + body + token_checksum(body)


def with_one_letter_changed(token: str) -> str:
    i = 10
    replacement = "b" if token[i] == "a" else "a"
    return token[:i] + replacement + token[i + 1 :]


# --- raw HTTP, for what the client library hides (status codes, headers, Range) -------------------------


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self):
        return json.loads(self.body)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D401
        return None


def http(
    method: str,
    url: str,
    *,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    follow_redirects: bool = True,
    timeout: float = 30,
) -> RawResponse:
    all_headers = dict(headers or {})
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=body, method=method, headers=all_headers)
    opener = urllib.request.build_opener() if follow_redirects else urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(req, timeout=timeout) as resp:
            return RawResponse(resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read())
    except urllib.error.HTTPError as e:
        return RawResponse(e.code, {k.lower(): v for k, v in e.headers.items()}, e.read())


# --- the server process ------------------------------------------------------------------------------------


class HangarServer:
    """One `hangar serve` process on a data directory; `admin` runs the operator CLI against the same data."""

    def __init__(
        self,
        binary: Path,
        data_dir: Path,
        port: int,
        database_url: str | None,
        log_path: Path,
        env: dict[str, str] | None = None,
    ):
        self.binary = binary
        self.data_dir = data_dir
        self.port = port
        self.database_url = database_url
        self.log_path = log_path
        # Extra variables for `hangar serve` only (e.g. the SMTP settings); the operator CLI does not get them.
        self.env = dict(env or {})
        self.endpoint = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen | None = None

    def _common_args(self) -> list[str]:
        args = ["--data-dir", str(self.data_dir)]
        if self.database_url:
            args += ["--database-url", self.database_url]
        return args

    def log_tail(self, limit: int = 6000) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no server log)"
        return text[-limit:]

    def start(self, timeout: float = 30.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        cmd = [str(self.binary), "serve", *self._common_args(), "--listen", f"127.0.0.1:{self.port}"]
        env = dict(os.environ, RUST_BACKTRACE="1")
        env.update(self.env)
        self.process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        log.close()
        deadline = time.monotonic() + timeout
        last_error = "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"`hangar serve` exited with status {self.process.returncode} before answering "
                    f"/api/health.\nCommand: {cmd}\n--- server output ---\n{self.log_tail()}"
                )
            try:
                resp = http("GET", f"{self.endpoint}/api/health", timeout=1)
                if resp.status == 200:
                    return
                last_error = f"status {resp.status}"
            except OSError as e:  # connection refused while the server binds
                last_error = repr(e)
            time.sleep(0.05)  # polling interval of a readiness probe
        self.kill()
        raise RuntimeError(
            f"`hangar serve` did not answer GET /api/health with 200 within {timeout:.0f} s ({last_error}).\n"
            f"Command: {cmd}\n--- server output ---\n{self.log_tail()}"
        )

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, no flushing; what a power cut or the OOM killer does."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def admin(self, *args: str) -> str:
        cmd = [str(self.binary), "admin", *args, *self._common_args()]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(cmd)} failed with status {result.returncode}\n"
                f"stdout: {result.stdout}\nstderr: {result.stderr}"
            )
        return result.stdout

    def create_user(self, name: str, email: str, password: str, verified: bool = True, site_admin: bool = False) -> None:
        """Without `verified`, the address stays unverified until the user follows a mailed link."""
        flags = ["--verified"] if verified else []
        if site_admin:
            flags.append("--site-admin")
        self.admin("user", "create", name, "--email", email, "--password", password, *flags)

    def create_token(self, user: str, name: str, role: str, *extra: str) -> str:
        """`hangar admin token create`; `extra` holds further options (`--permission E=P`, `--expires-in-days D`)."""
        token = self.admin("token", "create", "--user", user, "--name", name, "--role", role, *extra).strip()
        if not token.startswith("hf_"):
            raise RuntimeError(f"`hangar admin token create` printed {token!r}, expected only the token")
        return token

    def revoke_token(self, user: str, name: str) -> None:
        self.admin("token", "revoke", "--user", user, "--name", name)
