"""One call of the official Python client, run as a script by the interpreter of some virtualenv (an older
huggingface_hub for test_old_clients.py, the suite's own for test_hf_hub_rust.py); pytest never imports it.

    python hub_client_driver.py upload REPO_ID LOCAL_FILE PATH_IN_REPO     (HfApi.upload_file)
    python hub_client_driver.py download REPO_ID PATH_IN_REPO CACHE_DIR    (hf_hub_download)
    python hub_client_driver.py snapshot REPO_ID CACHE_DIR                 (snapshot_download)

The client is configured only by the environment, as a user's would be: HF_ENDPOINT, HF_TOKEN, HF_HOME and
HF_HUB_DISABLE_XET (see python_clients.py). Prints one JSON line: the client's version, whether Xet was disabled
and hf_xet installed, and what the call gave (the commit; the SHA-256 of each downloaded file).

Only APIs that huggingface_hub 0.36, 1.x and 2.x all have are used.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys


def sha256_of(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main(argv: list[str]) -> dict:
    import huggingface_hub
    from huggingface_hub import HfApi, constants, hf_hub_download, snapshot_download

    out = {
        "version": huggingface_hub.__version__,
        "xet_disabled": bool(constants.HF_HUB_DISABLE_XET),
        "hf_xet_installed": importlib.util.find_spec("hf_xet") is not None,
        "endpoint": constants.ENDPOINT,
    }
    op, repo_id, *rest = argv
    if op == "upload":
        local, path_in_repo = rest
        info = HfApi().upload_file(path_or_fileobj=local, path_in_repo=path_in_repo, repo_id=repo_id)
        out["commit"] = info.oid
    elif op == "download":
        path_in_repo, cache_dir = rest
        path = hf_hub_download(repo_id, path_in_repo, cache_dir=cache_dir)
        out["path"] = path
        out["sha256"] = sha256_of(path)
    elif op == "snapshot":
        (cache_dir,) = rest
        folder = snapshot_download(repo_id, cache_dir=cache_dir)
        out["path"] = folder
        out["files"] = {
            os.path.relpath(os.path.join(d, name), folder).replace(os.sep, "/"): sha256_of(os.path.join(d, name))
            for d, _, names in os.walk(folder)
            for name in names
        }
    else:
        raise SystemExit(f"unknown operation {op!r}")
    return out


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
