"""The official Hugging Face client's side of bench/run.sh (not a test; run by that script).

    hub_client.py setup  REPO_ID          create REPO_ID as a private model repo and commit a small
                                          (non-LFS) config.json to it
    hub_client.py upload REPO_ID FILE     upload FILE as REPO_ID/FILE's base name with
                                          HfApi.upload_file (LFS multipart above 10 MB); prints a
                                          line "breakdown ..." (seconds per kind of request) and,
                                          last, the wall time of that call in seconds
    hub_client.py inline REPO_ID FILE     commit FILE inline, base64 in one NDJSON line of the commit
                                          endpoint (as clients do for `regular` files), streamed
                                          from disk; prints the wall time in seconds
    hub_client.py hash   FILE             print the seconds one SHA-256 pass over FILE takes in this
                                          interpreter (the client hashes every LFS file before it
                                          uploads it), for the report's breakdown of the upload time

Reads HF_ENDPOINT and BENCH_WRITE_TOKEN from the environment; bench/run.sh also sets
HF_HUB_DISABLE_XET=1 so large files take the LFS path rather than Xet.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time

from huggingface_hub import HfApi, set_client_factory
from huggingface_hub.utils._http import default_client_factory

# Time spent per kind of request (from sending the request to receiving the response headers;
# for a PUT that includes sending the whole body), to break the upload time down.
_timings: dict[str, list[float]] = {}


def _kind(path: str) -> str:
    for marker, kind in (("/lfs/part/", "parts"), ("/lfs/complete/", "complete"), ("/lfs/verify/", "verify"),
                         ("/lfs/upload/", "basic"), ("/info/lfs/objects/batch", "batch"), ("/preupload/", "preupload"),
                         ("/commit/", "commit")):
        if marker in path:
            return kind
    return "other"


def _timed_client_factory():
    client = default_client_factory()

    def on_request(request) -> None:
        request.extensions["bench_start"] = time.perf_counter()

    def on_response(response) -> None:
        start = response.request.extensions.get("bench_start")
        if start is not None:
            _timings.setdefault(_kind(response.request.url.path), []).append(time.perf_counter() - start)

    client.event_hooks["request"].append(on_request)
    client.event_hooks["response"].append(on_response)
    return client


def main() -> int:
    api = HfApi(endpoint=os.environ["HF_ENDPOINT"], token=os.environ["BENCH_WRITE_TOKEN"])
    cmd = sys.argv[1]
    if cmd == "setup":
        repo_id = sys.argv[2]
        api.create_repo(repo_id, private=True)
        config = json.dumps({"architectures": ["BenchModel"], "hidden_size": 64, "note": "hangar bench"}, indent=2).encode()
        api.upload_file(path_or_fileobj=config, path_in_repo="config.json", repo_id=repo_id, commit_message="bench: small file")
        return 0
    if cmd == "upload":
        repo_id, path = sys.argv[2], sys.argv[3]
        # The client streams the file from disk (hashing it first, then 8 MiB parts); the timing
        # covers the whole call: hashing, preupload, LFS batch, parts, completion and the commit.
        set_client_factory(_timed_client_factory)
        start = time.perf_counter()
        api.upload_file(path_or_fileobj=path, path_in_repo=os.path.basename(path), repo_id=repo_id, commit_message="bench: large file")
        total = time.perf_counter() - start
        by_time = sorted(_timings.items(), key=lambda kv: -sum(kv[1]))
        print("breakdown " + "; ".join(f"{kind}: {len(t)} req., {sum(t):.2f} s" for kind, t in by_time))
        print(f"{total:.3f}")
        return 0
    if cmd == "inline":
        import base64

        import httpx2

        repo_id, path = sys.argv[2], sys.argv[3]

        def body():
            header = {"key": "header", "value": {"summary": "bench: large inline file", "description": ""}}
            yield (json.dumps(header) + "\n").encode()
            yield b'{"key": "file", "value": {"path": "inline-' + os.path.basename(path).encode() + b'", "encoding": "base64", "content": "'
            with open(path, "rb") as f:
                while chunk := f.read(3 * 1024 * 1024):  # a multiple of 3: no padding mid-stream
                    yield base64.b64encode(chunk)
            yield b'"}}\n'

        start = time.perf_counter()
        r = httpx2.post(
            f"{os.environ['HF_ENDPOINT']}/api/models/{repo_id}/commit/main",
            content=body(),
            headers={"authorization": f"Bearer {os.environ['BENCH_WRITE_TOKEN']}", "content-type": "application/x-ndjson"},
            timeout=600,
        )
        total = time.perf_counter() - start
        if r.status_code != 200 or "commitOid" not in r.json():
            print(f"inline commit failed: {r.status_code} {r.text[:500]}", file=sys.stderr)
            return 1
        print(f"{total:.3f}")
        return 0
    if cmd == "hash":
        start = time.perf_counter()
        h = hashlib.sha256()
        with open(sys.argv[2], "rb") as f:
            while chunk := f.read(1024 * 1024):
                h.update(chunk)
        print(f"{time.perf_counter() - start:.3f}")
        return 0
    print(f"unknown command {cmd!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
