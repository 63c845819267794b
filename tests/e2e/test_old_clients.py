"""Older releases of the official Python client keep working now that Hangar speaks Xet.

Each older huggingface_hub lives in a virtualenv of its own at the repository root (scripts/test.sh makes them):

    .venv-hub0   huggingface_hub 0.36.2 + hf_xet (tests/e2e/requirements-old-clients-0.txt); it reads the Xet write
                 token from the response headers (X-Xet-Cas-Url, X-Xet-Access-Token, X-Xet-Token-Expiration)
    .venv-hub1   huggingface_hub 1.19.0 + hf_xet (tests/e2e/requirements-old-clients-1.txt); it reads the JSON body

A missing virtualenv skips its tests, so the rest of the suite runs without them. Both clients offer "xet" in the
LFS batch request and use Xet only when the server answers `"transfer": "xet"`; for downloads they need X-Xet-Hash
and the xet-auth link on the resolve HEAD. Each client runs in a subprocess (hub_client_driver.py) with its own
HF_HOME and, per case, either its default settings or HF_HUB_DISABLE_XET=1 (never the suite's own setting): these
tests run in both passes of the suite.

The clients talk to the session server through a forwarding proxy (cli_helpers.Proxy), so the test sees which
routes they used: Xet (xorbs up, reconstructions down) or plain LFS and /resolve. The tree API tells, from the
server's side, how the file was stored (`xetHash` only for files uploaded through Xet).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from cli_helpers import Proxy
from hangar_e2e import MIB, REPO_ROOT, http, sha256_hex, write_binary_file
from python_clients import PythonClient

HERE = Path(__file__).resolve().parent

# A few MiB, not a whole number of Xet chunks or LFS parts.
SIZE = 3 * MIB + 4321


@dataclass(frozen=True)
class OldClient:
    venv: str
    requirements: str

    @property
    def python(self) -> Path:
        return REPO_ROOT / self.venv / "bin" / "python"

    @property
    def version(self) -> str:
        """The huggingface_hub version pinned in the requirements file."""
        text = (HERE / self.requirements).read_text()
        match = re.search(r"^huggingface_hub==(\S+)$", text, re.MULTILINE)
        assert match, f"{self.requirements} pins no huggingface_hub version"
        return match.group(1)


OLD_CLIENTS = {
    "hub-0.36": OldClient(".venv-hub0", "requirements-old-clients-0.txt"),
    "hub-1.19": OldClient(".venv-hub1", "requirements-old-clients-1.txt"),
}


@pytest.fixture(params=list(OLD_CLIENTS), ids=list(OLD_CLIENTS))
def old(request) -> OldClient:
    client = OLD_CLIENTS[request.param]
    if not client.python.is_file():
        pytest.skip(
            f"{client.venv} is missing (scripts/test.sh creates it: python3 -m venv {client.venv} && "
            f"{client.venv}/bin/pip install -r tests/e2e/{client.requirements})"
        )
    return client


@pytest.fixture
def proxy(server):
    p = Proxy(server.endpoint)
    yield p
    p.close()


@pytest.fixture
def client(old, proxy, tmp_path) -> PythonClient:
    return PythonClient(old.python, proxy.endpoint, tmp_path)


def tree(server, token: str, repo_id: str) -> dict[str, dict]:
    resp = http("GET", f"{server.endpoint}/api/models/{repo_id}/tree/main?recursive=1", token=token)
    assert resp.status == 200, resp.body
    return {e["path"]: e for e in resp.json()}


def routes(proxy: Proxy) -> list[str]:
    return [f"{s.method} {s.path.split('?', 1)[0]}" for s in proxy.seen]


def xorbs_sent(proxy: Proxy) -> int:
    return sum(s.request_bytes for s in proxy.seen if s.method == "POST" and s.path.startswith("/xet-cas/v1/xorbs/"))


def used_xet_download(proxy: Proxy) -> bool:
    return any("/reconstructions/" in s.path for s in proxy.seen)


def used_cas(proxy: Proxy) -> bool:
    return any(s.path.startswith("/xet-cas/") for s in proxy.seen)


def check_client(out: dict, old: OldClient) -> None:
    assert out["version"] == old.version, (
        f"{old.venv} has huggingface_hub {out['version']}, expected {old.version}: "
        f"{old.venv}/bin/pip install -r tests/e2e/{old.requirements}"
    )
    assert out["hf_xet_installed"], f"hf_xet is not installed in {old.venv}"


@pytest.mark.parametrize("xet", [True, False], ids=["defaults-xet", "xet-disabled"])
def test_upload_file_then_hf_hub_download_gives_the_same_bytes(server, alice, old, client, proxy, tmp_path, xet):
    repo_id = alice.new_repo_id("old-client")
    alice.api.create_repo(repo_id)
    big = write_binary_file(tmp_path / "src" / "weights.bin", SIZE)

    up = client.upload(repo_id, big.path, "weights.bin", token=alice.write_token, xet=xet)
    check_client(up, old)
    entry = tree(server, alice.read_token, repo_id)["weights.bin"]
    assert entry["size"] == SIZE
    assert entry["lfs"]["oid"] == big.sha256 and entry["lfs"]["size"] == SIZE
    # Both ways start with the LFS batch request, where the client offers "xet" unless it is disabled.
    assert any(r.startswith("POST ") and r.endswith(".git/info/lfs/objects/batch") for r in routes(proxy)), routes(proxy)
    if xet:
        assert len(entry.get("xetHash", "")) == 64, f"with its default settings the upload must go through Xet: {entry}"
        assert any("/xet-write-token/" in r for r in routes(proxy)), routes(proxy)
        assert xorbs_sent(proxy) > 0, routes(proxy)
    else:
        assert "xetHash" not in entry, f"with HF_HUB_DISABLE_XET=1 the upload must go through LFS: {entry}"
        assert not used_cas(proxy), routes(proxy)
        assert any(r.startswith("PUT ") for r in routes(proxy)), f"no LFS upload (PUT) {routes(proxy)}"

    proxy.seen.clear()
    down = client.download(repo_id, "weights.bin", tmp_path / "cache", token=alice.read_token, xet=xet)
    assert down["sha256"] == big.sha256, "the downloaded bytes differ from the uploaded ones"
    assert Path(down["path"]).stat().st_size == SIZE
    if xet:
        assert any("/xet-read-token/" in r for r in routes(proxy)), routes(proxy)
        assert used_xet_download(proxy), f"the file is stored in Xet: the client should read it from the CAS {routes(proxy)}"
    else:
        assert not used_cas(proxy), routes(proxy)
        assert any(r.startswith("GET ") and "/resolve/" in r for r in routes(proxy)), routes(proxy)


def test_snapshot_download_of_a_file_uploaded_through_xet(server, alice, old, client, proxy, tmp_path):
    repo_id = alice.new_repo_id("old-snapshot")
    alice.api.create_repo(repo_id)
    big = write_binary_file(tmp_path / "src" / "model.bin", SIZE)
    check_client(client.upload(repo_id, big.path, "model.bin", token=alice.write_token, xet=True), old)
    config = b'{"hidden_size": 8}\n'
    alice.api.upload_file(path_or_fileobj=config, path_in_repo="config.json", repo_id=repo_id)  # a regular file
    assert "xetHash" in tree(server, alice.read_token, repo_id)["model.bin"]

    # The repo may also hold files the server writes itself (.gitattributes): the snapshot has every file.
    repo_files = set(alice.api.list_repo_files(repo_id))
    assert {"model.bin", "config.json"} <= repo_files

    for xet in (True, False):  # the client's default settings (Xet), then plain HTTP from /resolve
        proxy.seen.clear()
        out = client.snapshot(repo_id, tmp_path / f"cache-{'xet' if xet else 'http'}", token=alice.read_token, xet=xet)
        files = out["files"]
        assert set(files) == repo_files, f"Xet {'on' if xet else 'disabled'}"
        assert files["model.bin"] == big.sha256, f"Xet {'on' if xet else 'disabled'}: model.bin differs from the upload"
        assert files["config.json"] == sha256_hex(config)
        assert used_xet_download(proxy) == xet, routes(proxy)
