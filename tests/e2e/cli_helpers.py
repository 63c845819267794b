"""Helpers for the tests of the `hangar` client commands (docs/CLI.md): running `hangar`, `hf` and Python in an
isolated environment, and a small HTTP proxy that can hold or cut a request, to interrupt transfers at a known point.

Nothing here imports huggingface_hub: conftest.py must configure the client before it is imported."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

import pytest

from hangar_e2e import hangar_bin

HF = Path(sys.executable).with_name("hf")

# Variables a developer's shell (or the suite's own process) may hold that would leak into a command.
_SCRUBBED = (
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "HF_TOKEN_PATH",
    "HF_HUB_CACHE",
    "HUGGINGFACE_HUB_CACHE",
    "HF_HUB_OFFLINE",
    "HF_ENDPOINT",
    "HF_HOME",
    "XDG_CACHE_HOME",
    "HANGAR_PASSWORD",
    "HANGAR_LOG",
)


@dataclass
class Result:
    cmd: list[str]
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        """Everything the command printed."""
        return f"{self.out}\n{self.err}"

    @property
    def json(self):
        try:
            return json.loads(self.out)
        except ValueError as e:
            raise AssertionError(f"`{' '.join(self.cmd)}` did not print JSON on stdout: {e}\n{self.describe()}")

    def describe(self) -> str:
        return f"$ {' '.join(self.cmd)}\nexit {self.code}\n--- stdout ---\n{self.out}\n--- stderr ---\n{self.err}"


class Cli:
    """Runs `hangar` (and `hf`, and Python) as a user would, each in an environment of its own:
    HF_HOME in the test's folder, HF_ENDPOINT the session server, no token unless the test gives one, and the
    test's folder as working directory (so that a `.env` written there is read)."""

    def __init__(self, endpoint: str, base: Path):
        self.endpoint = endpoint
        self.cwd = base
        self.home = base / "hf-home"

    @property
    def token_file(self) -> Path:
        return self.home / "token"

    @property
    def stored_tokens(self) -> Path:
        return self.home / "stored_tokens"

    @property
    def hub_cache(self) -> Path:
        return self.home / "hub"

    def env(self, token: str | None = None, extra: dict[str, str | None] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
        env["HF_HOME"] = str(self.home)
        env["HF_ENDPOINT"] = self.endpoint
        if token is not None:
            env["HF_TOKEN"] = token
        for k, v in (extra or {}).items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        return env

    def _run(self, cmd, *, code, token, env, input, cwd, timeout) -> Result:
        proc = subprocess.run(
            cmd,
            env=self.env(token, env),
            cwd=cwd or self.cwd,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        result = Result([str(c) for c in cmd], proc.returncode, proc.stdout, proc.stderr)
        if code is not None and result.code != code:
            pytest.fail(f"expected exit {code}\n{result.describe()}", pytrace=False)
        return result

    def __call__(
        self,
        *args: str,
        code: int | None = 0,
        token: str | None = None,
        env: dict[str, str | None] | None = None,
        input: str | None = None,
        cwd: Path | None = None,
        timeout: float = 60,
    ) -> Result:
        """`hangar ARGS...`; fails the test unless it exits with `code` (None: any). `token` goes in HF_TOKEN;
        `env` adds (or, with None, removes) variables."""
        return self._run(
            [str(hangar_bin()), *map(str, args)], code=code, token=token, env=env, input=input, cwd=cwd, timeout=timeout
        )

    def popen(self, *args: str, token: str | None = None, env: dict[str, str | None] | None = None) -> subprocess.Popen:
        return subprocess.Popen(
            [str(hangar_bin()), *map(str, args)],
            env=self.env(token, env),
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def hf(self, *args: str, code: int | None = 0, token: str | None = None, env=None, input=None) -> Result:
        """The official `hf` CLI with the same HF_HOME and endpoint."""
        return self._run([str(HF), *map(str, args)], code=code, token=token, env=env, input=input, cwd=None, timeout=120)

    def python(self, source: str, *, code: int | None = 0, env=None) -> Result:
        """A Python script (with huggingface_hub importable) in the same environment."""
        return self._run([sys.executable, "-c", source], code=code, token=None, env=env, input=None, cwd=None, timeout=120)


def write_files(root: Path, files: dict[str, bytes | str]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
    return root


# --- a proxy between the client and the server ---------------------------------------------------------------

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "upgrade", "trailer"}


@dataclass
class Seen:
    method: str
    path: str
    request_bytes: int


class Proxy:
    """A forwarding HTTP proxy in front of a server, at `self.endpoint`. The client's Host header is kept, so URLs
    in the server's answers (LFS upload URLs, redirects) point back through the proxy.

    `hold(method, path)`: when true for a request, the proxy sets `held` and never answers it (until `release`).
    `drop(method, path)`: when true for a request (once), the proxy reads it and closes the connection unanswered.
    `cut(method, path, status, size)`: when true for an answer (once), the proxy sends its headers and half of its
    body, then closes the connection: a network drop in the middle of a transfer.
    `stall(...)`: like cut, but instead of closing, it waits for `release` after the first half."""

    def __init__(self, upstream: str):
        host_port = upstream.split("://", 1)[1].rstrip("/")
        self.upstream_host, port = host_port.rsplit(":", 1)
        self.upstream_port = int(port)
        self.hold: Callable[[str, str], bool] = lambda m, p: False
        self.drop: Callable[[str, str], bool] = lambda m, p: False
        self.cut: Callable[[str, str, int, int], bool] = lambda m, p, s, n: False
        self.stall: Callable[[str, str, int, int], bool] = lambda m, p, s, n: False
        self.held = threading.Event()
        self.stalled = threading.Event()
        self.release_event = threading.Event()
        self.seen: list[Seen] = []
        self.answers: list[tuple[str, str, int]] = []  # (method, path, status) of every answer forwarded
        self._cut_done = False
        self._drop_done = False
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):  # quiet
                pass

            def _read_body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    out = bytearray()
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return bytes(out)
                        out += self.rfile.read(size)
                        self.rfile.readline()
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def _forward(self):
                body = self._read_body()
                with proxy._lock:
                    proxy.seen.append(Seen(self.command, self.path, len(body)))
                with proxy._lock:
                    drop = not proxy._drop_done and proxy.drop(self.command, self.path)
                    if drop:
                        proxy._drop_done = True
                if drop:
                    self.close_connection = True
                    try:
                        self.connection.shutdown(2)
                    except OSError:
                        pass
                    return
                if proxy.hold(self.command, self.path):
                    proxy.held.set()
                    proxy.release_event.wait(60)
                    self.close_connection = True
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP | {"content-length"}}
                if body or self.command in ("POST", "PUT", "PATCH"):
                    headers["Content-Length"] = str(len(body))
                conn = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=60)
                try:
                    conn.request(self.command, self.path, body=body or None, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    with proxy._lock:
                        proxy.answers.append((self.command, self.path, resp.status))
                    resp_headers = [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP_BY_HOP]
                finally:
                    conn.close()
                cut = stall = False
                with proxy._lock:
                    if not proxy._cut_done and len(data) > 1:
                        if proxy.cut(self.command, self.path, resp.status, len(data)):
                            cut = proxy._cut_done = True
                        elif proxy.stall(self.command, self.path, resp.status, len(data)):
                            stall = proxy._cut_done = True
                self.send_response_only(resp.status, resp.reason)
                for k, v in resp_headers:
                    if k.lower() == "content-length" and self.command != "HEAD":
                        continue
                    self.send_header(k, v)
                if self.command != "HEAD":
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command == "HEAD":
                    return
                if cut or stall:
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    if stall:
                        proxy.stalled.set()
                        proxy.release_event.wait(60)
                    self.close_connection = True
                    try:
                        self.connection.shutdown(2)
                    except OSError:
                        pass
                    return
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _forward

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def release(self) -> None:
        self.release_event.set()

    def close(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()
