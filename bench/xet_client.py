"""The official Hugging Face client's side of bench/xet.sh (not a test; run by that script, one process per step,
so that GNU time can report each step's peak RSS).

    xet_client.py upload   REPO_ID FILE              create REPO_ID, then upload FILE into it as model.bin with
                                                     HfApi.upload_file; checks afterwards that the file went the
                                                     expected way (Xet: the tree lists a xetHash; LFS with
                                                     HF_HUB_DISABLE_XET=1: it does not)
    xet_client.py download REPO_ID CACHE_DIR SHA256  hf_hub_download REPO_ID/model.bin into CACHE_DIR; checks
                                                     afterwards that the client took the expected path (hf_xet's
                                                     xet_get, or plain HTTP with HF_HUB_DISABLE_XET=1) and that
                                                     the file's SHA-256 is SHA256
    xet_client.py reupload REPO_ID FILE              upload FILE again into REPO_ID as model.bin (a changed
                                                     version of what is there), through a TCP relay on 127.0.0.1
                                                     that counts the bytes each way (every request of the client:
                                                     Hub API and CAS, HTTP headers included)

Each command prints "seconds S" (wall time of the one client call, without interpreter start-up and the checks) and
"cpu S" (user + system CPU time of this process, hf_xet's threads included, during that call; for reupload the
relay's threads too, which move about 2 MiB), and reupload also "sent B" and "received B". Reads HF_ENDPOINT and HF_TOKEN (a write token) from the environment;
HF_HUB_DISABLE_XET=1 selects LFS, as for any huggingface_hub program.
"""

from __future__ import annotations

import hashlib
import os
import resource
import socket
import sys
import threading
import time

from huggingface_hub import HfApi, constants, file_download

PATH_IN_REPO = "model.bin"


def sha256_of(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(4 * 1024 * 1024):
            h.update(chunk)
    return h.hexdigest()


def xet_hash(api: HfApi, repo_id: str) -> str | None:
    for entry in api.list_repo_tree(repo_id):
        if entry.path == PATH_IN_REPO:
            return getattr(entry, "xet_hash", None)
    raise SystemExit(f"{PATH_IN_REPO} is not in {repo_id} after the upload")


def check_transport(api: HfApi, repo_id: str) -> None:
    stored = xet_hash(api, repo_id)
    if constants.HF_HUB_DISABLE_XET and stored:
        raise SystemExit(f"HF_HUB_DISABLE_XET=1 but the file is stored through Xet ({stored})")
    if not constants.HF_HUB_DISABLE_XET and not stored:
        raise SystemExit("the default client did not store the file through Xet (no xetHash in the tree)")


class Relay:
    """A TCP relay 127.0.0.1:port -> upstream that counts the bytes going each way. The client's Host header names
    the relay, so the URLs the server hands out (the CAS URL, fetch URLs) lead back through it."""

    def __init__(self, upstream: str):
        host, port = upstream.split("://", 1)[1].rstrip("/").rsplit(":", 1)
        self.upstream = (host, int(port))
        self.sent = 0  # client -> server
        self.received = 0  # server -> client
        self.lock = threading.Lock()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            for s in (client, server):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._pump, args=(client, server, "sent"), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, "received"), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, counter: str) -> None:
        try:
            while data := src.recv(1 << 20):
                dst.sendall(data)
                with self.lock:
                    setattr(self, counter, getattr(self, counter) + len(data))
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class Timed:
    """Wall and CPU time of the block; printed as "seconds S" and "cpu S"."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), self._cpu()
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            print(f"seconds {time.perf_counter() - self.wall:.3f}")
            print(f"cpu {self._cpu() - self.cpu:.2f}")

    @staticmethod
    def _cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime


def main() -> int:
    cmd = sys.argv[1]
    endpoint, token = os.environ["HF_ENDPOINT"], os.environ["HF_TOKEN"]
    api = HfApi(endpoint=endpoint, token=token)
    if cmd == "upload":
        repo_id, path = sys.argv[2], sys.argv[3]
        api.create_repo(repo_id)
        with Timed():
            api.upload_file(path_or_fileobj=path, path_in_repo=PATH_IN_REPO, repo_id=repo_id, commit_message="bench: upload")
        check_transport(api, repo_id)
        return 0
    if cmd == "download":
        repo_id, cache_dir, expected = sys.argv[2], sys.argv[3], sys.argv[4]
        used: list[str] = []
        for name in ("xet_get", "http_get"):
            original = getattr(file_download, name)

            def wrapper(*a, _original=original, _name=name, **kw):
                used.append(_name)
                return _original(*a, **kw)

            setattr(file_download, name, wrapper)
        with Timed():
            path = api.hf_hub_download(repo_id, PATH_IN_REPO, cache_dir=cache_dir)
        want = "http_get" if constants.HF_HUB_DISABLE_XET else "xet_get"
        if used != [want]:
            raise SystemExit(f"expected the client to download with {want}, it used {used}")
        if sha256_of(path) != expected:
            raise SystemExit("the downloaded file's SHA-256 is not the uploaded one's")
        return 0
    if cmd == "reupload":
        repo_id, path = sys.argv[2], sys.argv[3]
        relay = Relay(endpoint)
        via = HfApi(endpoint=relay.endpoint, token=token)
        with Timed():
            via.upload_file(path_or_fileobj=path, path_in_repo=PATH_IN_REPO, repo_id=repo_id, commit_message="bench: 1 MiB changed")
        with relay.lock:
            print(f"sent {relay.sent}")
            print(f"received {relay.received}")
        check_transport(api, repo_id)
        return 0
    print(f"unknown command {cmd!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
