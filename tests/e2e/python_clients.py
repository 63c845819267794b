"""The official Python client of some virtualenv, run in a subprocess (hub_client_driver.py), with a Hub
environment of its own: nothing of the test process's Hub settings reaches it (in particular not the suite's
HF_HUB_DISABLE_XET, see conftest.py); whether Xet is disabled is chosen per call.

Used by test_old_clients.py (older huggingface_hub releases in their own virtualenvs) and test_hf_hub_rust.py (the
suite's own client with its default settings, whatever the pass of the suite).
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
from pathlib import Path

DRIVER = Path(__file__).resolve().with_name("hub_client_driver.py")

_counter = itertools.count(1)


def _is_hub_setting(name: str) -> bool:
    return name.startswith(("HF_", "HUGGINGFACE_", "HUGGING_FACE_")) or name in ("TRANSFORMERS_OFFLINE", "XDG_CACHE_HOME")


class PythonClient:
    """`python` is the interpreter of a virtualenv with huggingface_hub (and hf_xet) installed; `endpoint` the
    server (or a proxy in front of it); every call gets a fresh HF_HOME under `workdir`."""

    def __init__(self, python: Path, endpoint: str, workdir: Path):
        self.python = python
        self.endpoint = endpoint
        self.workdir = workdir

    def env(self, token: str | None, xet: bool) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not _is_hub_setting(k)}
        home = self.workdir / f"python-hf-home-{next(_counter)}"
        home.mkdir(parents=True)
        env.update(
            HF_ENDPOINT=self.endpoint,
            HF_HOME=str(home),
            HF_HUB_DISABLE_TELEMETRY="1",
            HF_HUB_DISABLE_UPDATE_CHECK="1",
            HF_HUB_DISABLE_PROGRESS_BARS="1",
        )
        if token is not None:
            env["HF_TOKEN"] = token
        if not xet:
            env["HF_HUB_DISABLE_XET"] = "1"
        # Otherwise HF_HUB_DISABLE_XET is absent: the client's default settings (Xet when hf_xet is installed).
        return env

    def run(self, op: str, *args: str, token: str | None, xet: bool) -> dict:
        result = subprocess.run(
            [str(self.python), str(DRIVER), op, *args],
            env=self.env(token, xet),
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        what = f"{self.python} hub_client_driver.py {op} {' '.join(args)} (Xet {'on' if xet else 'disabled'})"
        assert result.returncode == 0, f"{what} exited with {result.returncode}:\n{result.stderr[-4000:]}"
        lines = result.stdout.strip().splitlines()
        assert lines, f"{what} printed nothing:\n{result.stderr[-4000:]}"
        out = json.loads(lines[-1])
        # The client must have been configured as asked, and talked to the server under test.
        assert out["xet_disabled"] == (not xet), out
        assert out["endpoint"] == self.endpoint, out
        return out

    def upload(self, repo_id: str, local: Path, path_in_repo: str, *, token: str, xet: bool) -> dict:
        return self.run("upload", repo_id, str(local), path_in_repo, token=token, xet=xet)

    def download(self, repo_id: str, path_in_repo: str, cache_dir: Path, *, token: str | None, xet: bool) -> dict:
        return self.run("download", repo_id, path_in_repo, str(cache_dir), token=token, xet=xet)

    def snapshot(self, repo_id: str, cache_dir: Path, *, token: str | None, xet: bool) -> dict:
        return self.run("snapshot", repo_id, str(cache_dir), token=token, xet=xet)
