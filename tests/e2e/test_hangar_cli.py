"""The `hangar` client commands (docs/CLI.md, issue 4): auth, token, upload, download, repo and access-requests,
run as a user would run them, against the session server, and side by side with the official `hf` CLI and
`huggingface_hub`.

Every test runs `hangar` in an environment of its own (see cli_helpers.Cli): HF_HOME in the test's folder,
HF_ENDPOINT the session server, no token unless the test gives one, the test's folder as working directory."""

from __future__ import annotations

import configparser
import json
import os
import signal
import stat
import time
from pathlib import Path

import pytest
from huggingface_hub import HfApi

from access_helpers import new_org, start_private_server
from cli_helpers import Cli, Proxy, write_files
from hangar_e2e import (
    MIB,
    file_sha256,
    git_blob_sha1,
    unique_name,
    well_formed_unknown_token,
    with_one_letter_changed,
    write_random_file,
)

# Above the server's LFS threshold (10,000,000 bytes), so the file goes through LFS.
LFS_SIZE = 11 * MIB


@pytest.fixture
def cli(server, tmp_path) -> Cli:
    return Cli(server.endpoint, tmp_path)


def storage(cache: Path, repo_id: str, repo_type: str = "model") -> Path:
    return cache / f"{repo_type}s--{repo_id.replace('/', '--')}"


def head(user, repo_id: str, revision: str | None = None) -> str:
    return user.api.model_info(repo_id, revision=revision).sha


def etag_of(user, repo_id: str, path: str) -> str:
    """What names a file's blob in the cache: its SHA-256 for an LFS file, else its git blob id."""
    (entry,) = user.api.get_paths_info(repo_id, [path], expand=True)
    return entry.lfs.sha256 if entry.lfs else entry.blob_id


def repo_with_files(user, files: dict[str, bytes], *, private: bool = False) -> str:
    """A new repo of `user` holding `files`, in one commit made with the official client."""
    from huggingface_hub import CommitOperationAdd

    repo_id = user.new_repo_id("cli")
    user.api.create_repo(repo_id, private=private)
    ops = [CommitOperationAdd(path_in_repo=p, path_or_fileobj=d) for p, d in files.items()]
    user.api.create_commit(repo_id, operations=ops, commit_message="fixture")
    return repo_id


# =============================================================================================================
# auth
# =============================================================================================================


def test_login_writes_the_official_files_and_hf_uses_them(cli, alice):
    token = alice.write_token
    out = cli("auth", "login", "--token", token)
    assert alice.name in out.out
    assert token not in out.text, "the secret is not printed"
    assert "write" in out.out, "login prints the token's permission"

    assert cli.token_file.read_text().strip() == token
    assert stat.S_IMODE(cli.token_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(cli.stored_tokens.stat().st_mode) == 0o600
    assert stat.S_IMODE(cli.home.stat().st_mode) == 0o700
    stored = configparser.ConfigParser()
    stored.read(cli.stored_tokens)
    assert stored.sections() == [alice.token_name("write")]
    assert stored[alice.token_name("write")]["hf_token"] == token

    # The official client uses the login.
    who = cli.hf("auth", "whoami", "--format", "json")
    assert json.loads(who.out)["user"] == alice.name
    # And hangar itself.
    mine = cli("auth", "whoami", "--json").json
    assert mine["name"] == alice.name
    assert str(cli.token_file) in mine["tokenSource"]


def test_hf_login_then_hangar_commands_work(cli, alice, tmp_path):
    cli.hf("auth", "login", "--token", alice.read_token)
    cli.hf("auth", "login", "--token", alice.write_token)
    who = cli("auth", "whoami")
    assert alice.name in who.out
    assert alice.token_name("write") in who.out
    # Both of hf's stored tokens are listed, the active one marked; switching works on hf's files.
    listing = cli("auth", "list", "--json").json
    assert {i["name"]: i["active"] for i in listing} == {alice.token_name("read"): False, alice.token_name("write"): True}
    cli("auth", "switch", "--token-name", alice.token_name("read"))
    assert json.loads(cli.hf("auth", "whoami", "--format", "json").out)["user"] == alice.name
    assert cli.token_file.read_text().strip() == alice.read_token
    # A hangar upload with hf's login (switch back to the write token first).
    cli("auth", "switch", "--token-name", alice.token_name("write"))
    src = write_files(tmp_path / "src", {"a.txt": "a\n"})
    repo_id = alice.new_repo_id("after-hf-login")
    cli("upload", repo_id, src)
    assert "a.txt" in alice.api.list_repo_files(repo_id)


def test_login_reads_the_token_from_stdin(cli, alice):
    out = cli("auth", "login", input=alice.read_token + "\n")
    assert alice.name in out.out
    assert "read" in out.out
    assert cli.token_file.read_text().strip() == alice.read_token


def test_login_with_a_stray_space_or_newline_is_cleaned(cli, alice):
    cli("auth", "login", "--token", f"  {alice.read_token} \n")
    assert cli.token_file.read_text().strip() == alice.read_token


def test_login_with_a_mangled_token_is_refused_and_saves_nothing(cli, alice):
    for bad in (alice.read_token[:-1], with_one_letter_changed(alice.read_token), well_formed_unknown_token()):
        out = cli("auth", "login", "--token", bad, code=3)
        assert "invalid or revoked" in out.err
        assert "stray space or newline" in out.err
        assert "hangar auth login" in out.err
        assert bad not in out.text, "a refused token is not echoed"
    assert not cli.token_file.exists()
    assert not cli.stored_tokens.exists()


def test_login_honours_hf_token_path(cli, alice, tmp_path):
    path = tmp_path / "elsewhere" / "my-token"
    cli("auth", "login", "--token", alice.read_token, env={"HF_TOKEN_PATH": str(path)})
    assert path.read_text().strip() == alice.read_token
    assert (path.parent / "stored_tokens").exists()
    assert not cli.token_file.exists()
    who = cli("auth", "whoami", "--json", env={"HF_TOKEN_PATH": str(path)}).json
    assert who["name"] == alice.name


def test_auth_list_switch_and_logout(cli, alice):
    cli("auth", "login", "--token", alice.read_token)
    cli("auth", "login", "--token", alice.write_token)
    read_name, write_name = alice.token_name("read"), alice.token_name("write")

    human = cli("auth", "list").out
    assert read_name in human and write_name in human
    assert alice.read_token not in human and alice.write_token not in human, "auth list masks the secrets"
    active_line = next(line for line in human.splitlines() if write_name in line)
    assert active_line.lstrip().startswith("*"), human

    cli("auth", "switch", "--token-name", read_name)
    assert cli.token_file.read_text().strip() == alice.read_token
    assert cli("auth", "whoami", "--json").json["auth"]["accessToken"]["displayName"] == read_name

    out = cli("auth", "switch", "--token-name", "no-such-token", code=5)
    assert "hangar auth list" in out.err

    # Logging out of a stored token that is not active keeps the active one.
    cli("auth", "logout", "--token-name", write_name)
    stored = configparser.ConfigParser()
    stored.read(cli.stored_tokens)
    assert stored.sections() == [read_name]
    assert cli.token_file.read_text().strip() == alice.read_token
    cli("auth", "logout", "--token-name", write_name, code=5)

    # Logging out of the active one removes the token file too.
    cli("auth", "login", "--token", alice.write_token)
    cli("auth", "logout", "--token-name", write_name)
    assert not cli.token_file.exists()
    assert cli.stored_tokens.exists()

    cli("auth", "switch", "--token-name", read_name)
    cli("auth", "logout")
    assert not cli.token_file.exists()
    assert not cli.stored_tokens.exists()
    assert "No stored tokens" in cli("auth", "list").out
    # And the official client agrees.
    assert cli.hf("auth", "whoami", code=None).code != 0


def test_login_keeps_the_other_stored_tokens_intact(cli, alice, server):
    # What the official client writes for an OAuth login, beside a plain token.
    cli.home.mkdir(mode=0o700)
    cli.stored_tokens.write_text(
        "[oauth-someone]\nhf_token = hf_oauthAccessToken\nrefresh_token = hf_oauth_refresh\nexpires_at = 1893456000\n\n"
    )
    spaced = unique_name("my laptop").replace("-", " ", 1)
    token = server.create_token(alice.name, spaced, "read")
    cli("auth", "login", "--token", token)
    stored = configparser.ConfigParser()
    stored.read(cli.stored_tokens)
    assert dict(stored["oauth-someone"]) == {
        "hf_token": "hf_oauthAccessToken", "refresh_token": "hf_oauth_refresh", "expires_at": "1893456000"
    }
    assert stored[spaced]["hf_token"] == token
    # hf switches to it by its name, spaces and all.
    cli("auth", "login", "--token", alice.write_token)
    cli.hf("auth", "switch", "--token-name", spaced)
    assert cli.token_file.read_text().strip() == token
    cli("auth", "switch", "--token-name", alice.token_name("write"))
    cli("auth", "switch", "--token-name", spaced)
    assert cli("auth", "whoami", "--json").json["auth"]["accessToken"]["displayName"] == spaced


def test_whoami_shows_orgs_token_role_scopes_and_expiry(server, cli, alice):
    org = new_org(server, alice, unique_name("org"))
    who = cli("auth", "whoami", token=alice.write_token).out
    assert f"user: {alice.name}" in who
    assert org in who and "admin" in who
    assert alice.token_name("write") in who and "write" in who
    assert server.endpoint in who
    assert "HF_TOKEN" in who, "whoami says where the token came from"

    repo_id = repo_with_files(alice, {"a.txt": b"a"})
    fg_name = unique_name("fg")
    fg = server.create_token(alice.name, fg_name, "fineGrained", "--permission", f"model:{repo_id}=repo.content.read")
    who = cli("auth", "whoami", token=fg).out
    assert fg_name in who
    assert "fineGrained" in who
    assert repo_id in who and "repo.content.read" in who

    exp_name = unique_name("exp")
    expiring = server.create_token(alice.name, exp_name, "read", "--expires-in-days", "5")
    who = cli("auth", "whoami", token=expiring)
    assert "expires" in who.out
    expiration = cli("auth", "whoami", "--json", token=expiring).json["auth"]["accessToken"]["expiration"]
    assert expiration[:10] in who.out


def test_whoami_of_an_org_token(server, cli, alice):
    org = new_org(server, alice, unique_name("org"))
    secret = cli("token", "create", unique_name("ci"), "--org", org, "--user", alice.name,
                 env={"HANGAR_PASSWORD": alice.password}).out.strip()
    who = cli("auth", "whoami", token=secret).out
    assert org in who
    assert "organization" in who
    # It logs in like any token.
    login = cli("auth", "login", "--token", secret)
    assert org in login.out
    assert cli.token_file.read_text().strip() == secret
    assert json.loads(cli.hf("auth", "whoami", "--format", "json").out)["user"] == org


# =============================================================================================================
# precedence: --token, HF_TOKEN, HUGGING_FACE_HUB_TOKEN, the token file; .env; --endpoint, HF_ENDPOINT
# =============================================================================================================


def _token_used(cli, **kw) -> str:
    return cli("auth", "whoami", "--json", **kw).json["auth"]["accessToken"]["displayName"]


def test_token_precedence(cli, alice):
    read, write, admin = (alice.token_name(r) for r in ("read", "write", "admin"))
    cli("auth", "login", "--token", alice.read_token)
    assert _token_used(cli) == read
    assert _token_used(cli, env={"HUGGING_FACE_HUB_TOKEN": alice.write_token}) == write
    both = {"HUGGING_FACE_HUB_TOKEN": alice.write_token, "HF_TOKEN": alice.admin_token}
    assert _token_used(cli, env=both) == admin
    assert cli("auth", "whoami", "--json", env=both).json["tokenSource"] == "the HF_TOKEN environment variable"
    # --token beats them all.
    flagged = cli("auth", "whoami", "--json", "--token", alice.write_token, env={"HF_TOKEN": alice.admin_token}).json
    assert flagged["auth"]["accessToken"]["displayName"] == write


def test_a_token_with_a_trailing_newline_or_space_in_hf_token_works(cli, alice):
    for dirty in (alice.read_token + "\n", alice.read_token + " ", f" {alice.read_token}\r\n"):
        assert _token_used(cli, env={"HF_TOKEN": dirty}) == alice.token_name("read")


def test_dotenv_supplies_variables_the_environment_lacks(cli, alice, tmp_path):
    (tmp_path / ".env").write_text(
        f"# settings for this project\nexport HF_TOKEN=\"{alice.write_token}\"\nHF_ENDPOINT={cli.endpoint}\n"
    )
    # Neither HF_TOKEN nor HF_ENDPOINT in the real environment: both come from .env.
    who = cli("auth", "whoami", "--json", env={"HF_ENDPOINT": None}).json
    assert who["auth"]["accessToken"]["displayName"] == alice.token_name("write")
    assert ".env" in who["tokenSource"]
    # The .env's HF_TOKEN beats the token file...
    cli("auth", "login", "--token", alice.read_token)
    assert _token_used(cli) == alice.token_name("write")
    # ...and HUGGING_FACE_HUB_TOKEN, which comes after HF_TOKEN.
    assert _token_used(cli, env={"HUGGING_FACE_HUB_TOKEN": alice.admin_token}) == alice.token_name("write")
    # The real environment wins over .env.
    assert _token_used(cli, env={"HF_TOKEN": alice.admin_token}) == alice.token_name("admin")


@pytest.mark.parametrize(
    "line",
    [
        'HF_TOKEN={t}',
        'HF_TOKEN = {t}',
        'export HF_TOKEN="{t}"',
        "HF_TOKEN='{t}'",
        'HF_TOKEN={t} # the laptop token',
        'HF_TOKEN="{t}" # the laptop token',
        "HF_TOKEN='{t}'  # the laptop token",
    ],
)
def test_dotenv_syntax(cli, alice, tmp_path, line):
    """The forms python-dotenv (and docker compose) read: spaces around `=`, `export`, quotes, comments."""
    (tmp_path / ".env").write_text("# project settings\n" + line.format(t=alice.read_token) + "\n")
    who = cli("auth", "whoami", "--json", code=None)
    assert who.code == 0, f".env line {line!r} was not read as the token:\n{who.describe()}"
    assert who.json["auth"]["accessToken"]["displayName"] == alice.token_name("read")


def test_dotenv_can_move_hf_home(cli, alice, tmp_path):
    home = tmp_path / "home-from-dotenv"
    (tmp_path / ".env").write_text(f"HF_HOME='{home}'\n")
    cli("auth", "login", "--token", alice.read_token, env={"HF_HOME": None})
    assert (home / "token").read_text().strip() == alice.read_token
    assert not cli.token_file.exists()
    # The real HF_HOME wins.
    cli("auth", "whoami", code=3)


def test_the_real_endpoint_wins_over_dotenv(cli, alice, tmp_path):
    (tmp_path / ".env").write_text("HF_ENDPOINT=http://127.0.0.1:1\n")
    cli("auth", "whoami", token=alice.read_token)  # HF_ENDPOINT is set (to the server) in the real environment
    out = cli("auth", "whoami", token=alice.read_token, env={"HF_ENDPOINT": None}, code=7)
    assert "http://127.0.0.1:1" in out.err


def test_endpoint_flag_beats_hf_endpoint(cli, alice):
    wrong = {"HF_ENDPOINT": "http://127.0.0.1:1"}
    out = cli("auth", "whoami", token=alice.read_token, env=wrong, code=7)
    assert "http://127.0.0.1:1" in out.err
    assert "--endpoint" in out.err or "HF_ENDPOINT" in out.err
    who = cli("auth", "whoami", "--json", "--endpoint", cli.endpoint, token=alice.read_token, env=wrong).json
    assert who["name"] == alice.name
    assert who["endpoint"] == cli.endpoint

    # A trailing slash is fine.
    assert cli("auth", "whoami", "--json", token=alice.read_token, env={"HF_ENDPOINT": cli.endpoint + "/"}).json["name"]

    out = cli("repo", "info", "some/repo", "--endpoint", "http://127.0.0.1:9", code=7)
    assert "http://127.0.0.1:9" in out.err
    failure = cli("repo", "info", "some/repo", "--endpoint", "http://127.0.0.1:9", "--format", "json", code=7).json
    assert failure["exitCode"] == 7
    assert "http://127.0.0.1:9" in failure["message"]


# =============================================================================================================
# token
# =============================================================================================================


def _tokens(cli, user, *extra, **kw) -> list[dict]:
    return cli("token", "list", "--user", user.name, "--json", *extra, env={"HANGAR_PASSWORD": user.password}, **kw).json


def test_token_create_list_rename_refresh_revoke(cli, alice):
    pw = {"HANGAR_PASSWORD": alice.password}
    name = unique_name("laptop")
    created = cli("token", "create", name, "--role", "write", "--user", alice.name, env=pw)
    secret = created.out.strip()
    assert secret.startswith("hf_") and created.out == secret + "\n", "stdout holds only the secret"
    assert "Store it now" in created.err or "not be shown again" in created.err
    assert secret not in created.err
    who = cli("auth", "whoami", "--json", token=secret).json
    assert who["name"] == alice.name
    assert who["auth"]["accessToken"]["displayName"] == name
    assert who["auth"]["accessToken"]["role"] == "write"

    listed = {t["name"]: t for t in _tokens(cli, alice)}
    assert listed[name]["role"] == "write" and listed[name]["state"] == "active"
    assert all("token" not in t for t in listed.values()) and secret not in json.dumps(list(listed.values()))
    human = cli("token", "list", "--user", alice.name, env=pw).out
    assert name in human and secret not in human

    # Rename (by name), then the list and whoami show the new name.
    new_name = unique_name("renamed")
    renamed = cli("token", "rename", name, new_name, "--user", alice.name, "--json", env=pw).json
    assert renamed["name"] == new_name
    assert new_name in {t["name"] for t in _tokens(cli, alice)}
    assert cli("auth", "whoami", "--json", token=secret).json["auth"]["accessToken"]["displayName"] == new_name

    # Refresh (by id): a new secret; the old one is refused at once.
    token_id = str(renamed["id"])
    refreshed = cli("token", "refresh", token_id, "--user", alice.name, env=pw)
    new_secret = refreshed.out.strip()
    assert new_secret.startswith("hf_") and new_secret != secret
    assert refreshed.out == new_secret + "\n"
    out = cli("auth", "whoami", token=secret, code=3)
    assert "invalid or revoked" in out.err
    assert cli("auth", "whoami", "--json", token=new_secret).json["name"] == alice.name

    # Revoke: the next request fails.
    revoked = cli("token", "revoke", new_name, "--user", alice.name, "--json", env=pw).json
    assert revoked["revoked"] == new_name
    out = cli("auth", "whoami", token=new_secret, code=3)
    assert "invalid or revoked" in out.err
    states = {t["name"]: t["state"] for t in _tokens(cli, alice)}
    assert states.get(new_name) in (None, "revoked")
    cli("token", "revoke", new_name, "--user", alice.name, env=pw, code=5)


def test_token_create_json_fine_grained_and_expiry(cli, alice):
    pw = {"HANGAR_PASSWORD": alice.password}
    repo_id = repo_with_files(alice, {"a.txt": b"a"}, private=True)
    name = unique_name("fg")
    created = cli(
        "token", "create", name, "--role", "fineGrained", "--permission", f"model:{repo_id}=repo.content.read",
        "--expires", "2030-01-31", "--user", alice.name, "--json", env=pw,
    ).json
    assert created["name"] == name
    assert created["role"] == "fineGrained"
    assert created["token"].startswith("hf_")
    # A date means valid through that day (UTC).
    assert created["expiresAt"].startswith(("2030-01-31", "2030-02-01T00:00:00"))
    scoped = created["fineGrained"]["scoped"]
    assert [(s["entity"]["name"], s["permissions"]) for s in scoped] == [(repo_id, ["repo.content.read"])]

    # It reads the private repo and nothing else: it cannot write.
    api = HfApi(endpoint=cli.endpoint, token=created["token"])
    assert "a.txt" in api.list_repo_files(repo_id)
    who = cli("auth", "whoami", token=created["token"]).out
    assert repo_id in who and "repo.content.read" in who and created["expiresAt"][:10] in who

    gated_name = unique_name("fg-gated")
    secret = cli(
        "token", "create", gated_name, "--role", "fineGrained", "--permission", "global=discussion.write",
        "--can-read-gated-repos", "--user", alice.name, env=pw,
    ).out.strip()
    fg = cli("auth", "whoami", "--json", token=secret).json["auth"]["accessToken"]["fineGrained"]
    assert fg["canReadGatedRepos"] is True and fg["global"] == ["discussion.write"]
    human = cli("auth", "whoami", token=secret).out
    assert "discussion.write" in human and "gated" in human

    bad = cli("token", "create", unique_name("x"), "--permission", "model:a/b=repo.content.read", "--user", alice.name,
              env=pw, code=1)
    assert "fineGrained" in bad.err


def test_token_commands_read_the_password_from_stdin(cli, alice):
    listed = cli("token", "list", "--user", alice.name, "--json", input=alice.password + "\n").json
    assert isinstance(listed, list)
    secret = cli("token", "create", unique_name("piped"), "--user", alice.name, input=alice.password + "\n").out.strip()
    assert cli("auth", "whoami", "--json", token=secret).json["name"] == alice.name


def test_token_commands_know_the_user_from_the_active_token(cli, alice):
    cli("auth", "login", "--token", alice.read_token)
    listed = cli("token", "list", "--json", env={"HANGAR_PASSWORD": alice.password}).json
    assert alice.token_name("read") in {t["name"] for t in listed}


def test_token_commands_with_a_wrong_password(cli, alice):
    out = cli("token", "list", "--user", alice.name, env={"HANGAR_PASSWORD": "not-the-password"}, code=3)
    assert "password" in out.err.lower()
    out = cli("token", "create", unique_name("x"), "--user", alice.name, input="nope\n", code=3)
    assert not out.out.strip().startswith("hf_")
    failure = cli("token", "list", "--user", alice.name, "--json", env={"HANGAR_PASSWORD": "nope-nope"}, code=3).json
    assert failure["exitCode"] == 3


def test_organization_tokens(server, cli, alice, bob):
    org = new_org(server, alice, unique_name("org"))
    pw = {"HANGAR_PASSWORD": alice.password}
    name = unique_name("deploy")
    secret = cli("token", "create", name, "--org", org, "--role", "write", "--user", alice.name, env=pw).out.strip()
    assert secret.startswith("hf_")
    who = cli("auth", "whoami", "--json", token=secret).json
    assert who["type"] == "org" and who["name"] == org
    # It pushes to the org's repos.
    src = write_files(Path(cli.cwd) / "src", {"x.txt": "x\n"})
    repo_id = f"{org}/{unique_name('m')}"
    cli("upload", repo_id, src, token=secret)
    assert "x.txt" in alice.api.list_repo_files(repo_id)

    listed = {t["name"]: t for t in _tokens(cli, alice, "--org", org)}
    assert name in listed
    assert name not in {t["name"] for t in _tokens(cli, alice)}, "org tokens are not the user's"
    renamed = unique_name("deploy2")
    cli("token", "rename", name, renamed, "--org", org, "--user", alice.name, env=pw)
    fresh = cli("token", "refresh", renamed, "--org", org, "--user", alice.name, env=pw).out.strip()
    cli("auth", "whoami", token=secret, code=3)
    assert cli("auth", "whoami", "--json", token=fresh).json["name"] == org
    cli("token", "revoke", renamed, "--org", org, "--user", alice.name, env=pw)
    cli("auth", "whoami", token=fresh, code=3)

    # Only the org's admins manage its tokens.
    out = cli("token", "list", "--org", org, "--user", bob.name, env={"HANGAR_PASSWORD": bob.password}, code=4)
    assert out.err.strip()


# =============================================================================================================
# upload
# =============================================================================================================


def test_upload_a_single_file(cli, alice, tmp_path):
    f = tmp_path / "weights.txt"
    f.write_text("w\n")
    repo_id = alice.new_repo_id("one")
    out = cli("upload", repo_id, f, token=alice.write_token)
    assert "Created" in out.out and "Committed" in out.out
    assert f"{cli.endpoint}/{repo_id}/commit/" in out.out
    assert "weights.txt" in alice.api.list_repo_files(repo_id)
    # PATH_IN_REPO renames it.
    cli("upload", repo_id, f, "sub/renamed.txt", token=alice.write_token)
    assert "sub/renamed.txt" in alice.api.list_repo_files(repo_id)


def test_upload_a_folder_with_include_and_exclude(cli, alice, tmp_path):
    src = write_files(tmp_path / "model", {
        "config.json": "{}\n",
        "weights/part 1.bin": b"\x00\x01",
        "weights/nested/part2.bin": b"\x02",
        "notes.md": "notes\n",
        "logs/run.log": "log\n",
    })
    repo_id = alice.new_repo_id("folder")
    out = cli("upload", repo_id, src, "--include", "*.json", "--include", "weights/*", "--exclude", "*nested*",
              "--json", token=alice.write_token).json
    assert sorted(out["uploaded"]) == ["config.json", "weights/part 1.bin"]
    assert set(alice.api.list_repo_files(repo_id)) - {".gitattributes"} == {"config.json", "weights/part 1.bin"}

    # Everything, under a folder of the repo.
    cli("upload", repo_id, src, "v2", token=alice.write_token)
    files = set(alice.api.list_repo_files(repo_id))
    assert {"v2/config.json", "v2/weights/nested/part2.bin", "v2/logs/run.log", "v2/notes.md"} <= files
    data = alice.api.hf_hub_download(repo_id, "v2/weights/part 1.bin", cache_dir=tmp_path / "check")
    assert Path(data).read_bytes() == b"\x00\x01"


def test_upload_creates_a_private_repo_and_a_dataset(cli, alice, tmp_path):
    src = write_files(tmp_path / "src", {"a.txt": "a\n"})
    repo_id = alice.new_repo_id("private")
    out = cli("upload", repo_id, src, "--private", "--json", token=alice.write_token).json
    assert out["createdRepo"] is True
    assert alice.api.model_info(repo_id).private is True
    ds = alice.new_repo_id("data")
    cli("upload", ds, src, "--repo-type", "dataset", token=alice.write_token)
    assert alice.api.dataset_info(ds).id == ds
    assert "a.txt" in alice.api.list_repo_files(ds, repo_type="dataset")


def test_upload_skips_what_the_repo_has(cli, alice, tmp_path):
    src = write_files(tmp_path / "src", {"a.txt": "a\n", "b/b.txt": "b\n", "c.txt": "c\n"})
    repo_id = alice.new_repo_id("noop")
    first = cli("upload", repo_id, src, "--json", token=alice.write_token).json
    assert sorted(first["uploaded"]) == ["a.txt", "b/b.txt", "c.txt"]
    sha = head(alice, repo_id)
    commits = len(alice.api.list_repo_commits(repo_id))

    again = cli("upload", repo_id, src, token=alice.write_token)
    assert "Nothing to upload" in again.out
    assert head(alice, repo_id) == sha
    assert len(alice.api.list_repo_commits(repo_id)) == commits
    again_json = cli("upload", repo_id, src, "--json", token=alice.write_token).json
    assert again_json["uploaded"] == [] and again_json["commitOid"] is None
    assert sorted(again_json["unchanged"]) == ["a.txt", "b/b.txt", "c.txt"]

    (src / "b" / "b.txt").write_text("b changed\n")
    changed = cli("upload", repo_id, src, "--json", "--commit-message", "Change b", token=alice.write_token).json
    assert changed["uploaded"] == ["b/b.txt"]
    assert sorted(changed["unchanged"]) == ["a.txt", "c.txt"]
    assert head(alice, repo_id) == changed["commitOid"] != sha
    assert alice.api.list_repo_commits(repo_id)[0].title == "Change b"


def test_upload_with_delete(cli, alice, tmp_path):
    repo_id = repo_with_files(alice, {"old.txt": b"o", "keep.txt": b"k", "sub/old.txt": b"s", "old.bin": b"b"})
    src = write_files(tmp_path / "src", {"keep.txt": "k2\n", "new.txt": "n\n"})
    out = cli("upload", repo_id, src, "--delete", "*.txt", "--json", token=alice.write_token).json
    assert sorted(out["deleted"]) == ["old.txt", "sub/old.txt"]
    files = set(alice.api.list_repo_files(repo_id))
    assert {"keep.txt", "new.txt", "old.bin"} <= files
    assert "old.txt" not in files and "sub/old.txt" not in files


def test_upload_with_delete_under_a_folder_of_the_repo(cli, alice, tmp_path):
    repo_id = repo_with_files(alice, {"v1/old.txt": b"o", "v1/keep.txt": b"k", "other/old.txt": b"x"})
    src = write_files(tmp_path / "src", {"keep.txt": "k\n"})
    out = cli("upload", repo_id, src, "v1", "--delete", "*.txt", "--json", token=alice.write_token).json
    assert out["deleted"] == ["v1/old.txt"], "patterns apply under PATH_IN_REPO only"
    files = set(alice.api.list_repo_files(repo_id))
    assert {"v1/keep.txt", "other/old.txt"} <= files and "v1/old.txt" not in files


def test_odd_file_names_and_an_empty_file_round_trip(cli, alice, tmp_path):
    files = {"a b#c%d?.txt": b"odd\n", "dir with space/ü-é.json": "{\"ü\": 1}\n".encode(), "empty.txt": b""}
    src = write_files(tmp_path / "src", files)
    repo_id = alice.new_repo_id("odd")
    out = cli("upload", repo_id, src, "--json", token=alice.write_token).json
    assert sorted(out["uploaded"]) == sorted(files)
    assert set(files) <= set(alice.api.list_repo_files(repo_id))
    snapshot = Path(cli("download", repo_id).out.strip())
    for rel, data in files.items():
        assert (snapshot / rel).read_bytes() == data, rel
    local = tmp_path / "local"
    cli("download", repo_id, "--local-dir", local)
    for rel, data in files.items():
        assert (local / rel).read_bytes() == data, rel
    again = cli("upload", repo_id, src, "--json", token=alice.write_token).json
    assert again["uploaded"] == []


def test_upload_to_a_new_branch_and_as_a_pull_request(cli, alice, tmp_path):
    repo_id = repo_with_files(alice, {"a.txt": b"a"})
    main = head(alice, repo_id)
    src = write_files(tmp_path / "src", {"b.txt": "b\n"})

    out = cli("upload", repo_id, src, "--revision", "dev", "--commit-message", "On dev", "--json",
              token=alice.write_token).json
    assert head(alice, repo_id) == main
    assert "b.txt" in alice.api.list_repo_files(repo_id, revision="dev")
    assert head(alice, repo_id, "dev") == out["commitOid"]
    assert alice.api.list_repo_commits(repo_id, revision="dev")[0].title == "On dev"

    src2 = write_files(tmp_path / "src2", {"c.txt": "c\n"})
    pr = cli("upload", repo_id, src2, "--create-pr", "--commit-message", "Proposal", token=alice.write_token)
    assert "pull request" in pr.out.lower()
    assert head(alice, repo_id) == main
    refs = alice.api.list_repo_refs(repo_id, include_pull_requests=True)
    assert [r.ref for r in refs.pull_requests] == ["refs/pr/1"]
    assert "c.txt" in alice.api.list_repo_files(repo_id, revision="refs/pr/1")
    assert "c.txt" not in alice.api.list_repo_files(repo_id)


def test_upload_and_download_a_branch_with_a_slash(cli, alice, tmp_path):
    repo_id = repo_with_files(alice, {"a.txt": b"a"})
    src = write_files(tmp_path / "src", {"f.txt": "feature\n"})
    cli("upload", repo_id, src, "--revision", "feature/x", token=alice.write_token)
    assert "f.txt" in alice.api.list_repo_files(repo_id, revision="feature/x")
    assert "f.txt" not in alice.api.list_repo_files(repo_id)
    path = cli("download", repo_id, "f.txt", "--revision", "feature/x").out.strip()
    assert Path(path).read_bytes() == b"feature\n"
    ref = storage(cli.hub_cache, repo_id) / "refs" / "feature" / "x"
    assert ref.read_text() == head(alice, repo_id, "feature/x")


def test_upload_after_hf_upload_finds_nothing_to_do(cli, alice, tmp_path):
    src = write_files(tmp_path / "src", {"a.txt": "a\n", "sub/b.json": "{}\n"})
    repo_id = alice.new_repo_id("hf-first")
    cli.hf("upload", repo_id, str(src), token=alice.write_token)
    sha = head(alice, repo_id)
    out = cli("upload", repo_id, src, "--json", token=alice.write_token).json
    assert out["uploaded"] == [] and sorted(out["unchanged"]) == ["a.txt", "sub/b.json"]
    assert head(alice, repo_id) == sha


def test_upload_of_a_folder_with_an_unreadable_file(cli, alice, tmp_path):
    src = write_files(tmp_path / "src", {"a.txt": "a\n"})
    (src / "broken.bin").symlink_to(tmp_path / "does-not-exist")
    repo_id = alice.new_repo_id("unreadable")
    out = cli("upload", repo_id, src, token=alice.write_token, code=8)
    assert "broken.bin" in out.err
    if alice.api.repo_exists(repo_id):
        assert set(alice.api.list_repo_files(repo_id)) <= {".gitattributes"}, "nothing is committed"


def test_a_pull_request_to_someone_elses_repo(cli, alice, bob, tmp_path):
    repo_id = repo_with_files(alice, {"a.txt": b"a"})
    main = head(alice, repo_id)
    big = write_random_file(tmp_path / "src" / "proposal.bin", LFS_SIZE)
    (tmp_path / "src" / "notes.txt").write_text("from bob\n")
    # Without --create-pr, bob may not push.
    cli("upload", repo_id, tmp_path / "src", token=bob.write_token, code=4)
    out = cli("upload", repo_id, tmp_path / "src", "--create-pr", "--json", token=bob.write_token).json
    assert out["pullRequestUrl"]
    assert head(alice, repo_id) == main
    refs = alice.api.list_repo_refs(repo_id, include_pull_requests=True)
    assert [r.ref for r in refs.pull_requests] == ["refs/pr/1"]
    entries = {e.path: e for e in alice.api.list_repo_tree(repo_id, revision="refs/pr/1", expand=True)}
    assert entries["proposal.bin"].lfs.sha256 == big.sha256
    assert "notes.txt" in entries
    # The pull request's files download by its ref.
    got = cli("download", repo_id, "proposal.bin", "--revision", "refs/pr/1", "--json").json
    assert file_sha256(got["path"]) == big.sha256
    assert (storage(cli.hub_cache, repo_id) / "refs" / "refs" / "pr" / "1").read_text() == got["commit"]


def test_upload_of_a_folder_with_a_symlink_to_a_folder(cli, alice, tmp_path):
    """A link to a folder (`latest -> checkpoint-100`) does not break the upload: `hf upload` skips it."""
    src = write_files(tmp_path / "src", {"checkpoint-100/w.txt": "w\n", "config.json": "{}\n"})
    (src / "latest").symlink_to("checkpoint-100", target_is_directory=True)
    repo_id = alice.new_repo_id("linked")
    out = cli("upload", repo_id, src, "--json", token=alice.write_token, code=None)
    assert out.code == 0, f"a symlinked folder makes the upload fail:\n{out.describe()}"
    assert {"checkpoint-100/w.txt", "config.json"} <= set(alice.api.list_repo_files(repo_id))


def test_upload_a_large_file_through_lfs(cli, alice, tmp_path):
    big = write_random_file(tmp_path / "src" / "model.safetensors", LFS_SIZE)
    (tmp_path / "src" / "config.json").write_text("{}\n")
    repo_id = alice.new_repo_id("lfs")
    out = cli("upload", repo_id, tmp_path / "src", "--json", token=alice.write_token).json
    assert out["lfsBytesSent"] == big.size
    entries = {e.path: e for e in alice.api.list_repo_tree(repo_id, expand=True)}
    assert entries["model.safetensors"].lfs is not None
    assert entries["model.safetensors"].lfs.sha256 == big.sha256
    assert entries["model.safetensors"].size == big.size
    assert entries["config.json"].lfs is None
    path = alice.api.hf_hub_download(repo_id, "model.safetensors", cache_dir=tmp_path / "check")
    assert file_sha256(path) == big.sha256

    again = cli("upload", repo_id, tmp_path / "src", "--json", token=alice.write_token).json
    assert again["lfsBytesSent"] == 0 and again["uploaded"] == []


def test_upload_of_a_missing_local_path(cli, alice, tmp_path):
    repo_id = alice.new_repo_id("missing")
    out = cli("upload", repo_id, tmp_path / "no-such-folder", token=alice.write_token, code=8)
    assert "no-such-folder" in out.err
    assert not alice.api.repo_exists(repo_id), "no repo is created for a path that does not exist"
    failure = cli("upload", repo_id, "nope.bin", "--format", "json", token=alice.write_token, code=8).json
    assert failure["exitCode"] == 8 and "nope.bin" in failure["message"]
    assert not alice.api.repo_exists(repo_id)


# =============================================================================================================
# download
# =============================================================================================================


FILES = {"config.json": b'{"a": 1}\n', "sub/tokenizer.json": b"{}\n", "weights.bin": bytes(range(256)) * 4}


def test_download_into_the_cache_then_load_offline(cli, alice):
    repo_id = repo_with_files(alice, FILES, private=True)
    sha = head(alice, repo_id)
    out = cli("download", repo_id, token=alice.read_token)
    folder = storage(cli.hub_cache, repo_id)
    snapshot = folder / "snapshots" / sha
    assert out.out.strip() == str(snapshot)
    assert (folder / "refs" / "main").read_text() == sha
    for rel, data in FILES.items():
        link = snapshot / rel
        assert link.is_symlink(), rel
        assert link.read_bytes() == data
        blob = (link.parent / os.readlink(link)).resolve()
        assert blob.parent == (folder / "blobs").resolve()
        assert blob.name == etag_of(alice, repo_id, rel)
    assert not list((folder / "blobs").glob("*.incomplete"))
    assert etag_of(alice, repo_id, "config.json") == git_blob_sha1(FILES["config.json"])

    # huggingface_hub finds everything offline, in the same HF_HOME.
    script = f"""
import sys
from pathlib import Path
from huggingface_hub import hf_hub_download, snapshot_download
p = hf_hub_download({repo_id!r}, "sub/tokenizer.json", local_files_only=True)
assert Path(p).read_bytes() == {FILES["sub/tokenizer.json"]!r}, p
s = snapshot_download({repo_id!r})
assert Path(s, "weights.bin").read_bytes() == {FILES["weights.bin"]!r}
print(s)
"""
    loaded = cli.python(script, env={"HF_HUB_OFFLINE": "1"})
    assert loaded.out.strip() == str(snapshot)

    # Again: nothing to fetch.
    again = cli("download", repo_id, "--json", token=alice.read_token).json
    assert again["downloaded"] == [] and again["bytes"] == 0
    assert set(again["upToDate"]) == set(alice.api.list_repo_files(repo_id)) >= set(FILES)


def test_download_shares_the_cache_with_hf(cli, alice):
    repo_id = repo_with_files(alice, FILES)
    cli.hf("download", repo_id)
    out = cli("download", repo_id, "--json").json
    assert out["downloaded"] == [] and out["bytes"] == 0, "hangar sees what hf put in the cache"
    assert set(out["upToDate"]) >= set(FILES)


def test_download_a_dataset(cli, alice, tmp_path):
    repo_id = alice.new_repo_id("ds")
    alice.api.create_repo(repo_id, repo_type="dataset")
    alice.api.upload_file(path_or_fileobj=b"x,y\n1,2\n", path_in_repo="data/train.csv", repo_id=repo_id,
                          repo_type="dataset")
    path = cli("download", repo_id, "data/train.csv", "--repo-type", "dataset").out.strip()
    assert Path(path).read_bytes() == b"x,y\n1,2\n"
    assert Path(path).is_relative_to(storage(cli.hub_cache, repo_id, "dataset"))
    cli.python(
        f"from huggingface_hub import hf_hub_download\n"
        f"p = hf_hub_download({repo_id!r}, 'data/train.csv', repo_type='dataset', local_files_only=True)\n"
        f"assert open(p, 'rb').read() == b'x,y\\n1,2\\n'\n",
        env={"HF_HUB_OFFLINE": "1"},
    )
    cli("download", repo_id, code=5)  # not a model


def test_download_specific_files_and_patterns(cli, alice, tmp_path):
    repo_id = repo_with_files(alice, FILES)
    sha = head(alice, repo_id)
    one = cli("download", repo_id, "sub/tokenizer.json")
    snapshot = storage(cli.hub_cache, repo_id) / "snapshots" / sha
    assert one.out.strip() == str(snapshot / "sub" / "tokenizer.json")
    assert sorted(p.relative_to(snapshot).as_posix() for p in snapshot.rglob("*") if not p.is_dir()) == ["sub/tokenizer.json"]

    two = cli("download", repo_id, "config.json", "weights.bin", "--cache-dir", tmp_path / "c2", "--json").json
    assert sorted(two["downloaded"]) == ["config.json", "weights.bin"]

    # fnmatch semantics, as the official client: `*` crosses folders.
    matched = cli("download", repo_id, "--include", "*.json", "--cache-dir", tmp_path / "c3", "--json").json
    assert matched["downloaded"] == ["config.json", "sub/tokenizer.json"]
    matched = cli("download", repo_id, "--include", "*.json", "--exclude", "sub/*", "--cache-dir", tmp_path / "c4",
                  "--json").json
    assert matched["downloaded"] == ["config.json"]

    out = cli("download", repo_id, "no/such/file.txt", code=5)
    assert "no/such/file.txt" in out.err


def test_download_cache_location_precedence(cli, alice, tmp_path):
    repo_id = repo_with_files(alice, {"a.txt": b"a"})
    hub_cache, legacy, flag = tmp_path / "hub-cache", tmp_path / "legacy", tmp_path / "flag"
    out = cli("download", repo_id, env={"HUGGINGFACE_HUB_CACHE": str(legacy)}).out.strip()
    assert out.startswith(str(storage(legacy, repo_id)))
    out = cli("download", repo_id, env={"HUGGINGFACE_HUB_CACHE": str(legacy), "HF_HUB_CACHE": str(hub_cache)}).out
    assert out.strip().startswith(str(storage(hub_cache, repo_id)))
    out = cli("download", repo_id, "--cache-dir", flag, env={"HF_HUB_CACHE": str(hub_cache)}).out
    assert out.strip().startswith(str(storage(flag, repo_id)))


def test_download_to_a_local_dir(cli, alice, tmp_path):
    repo_id = repo_with_files(alice, FILES)
    sha = head(alice, repo_id)
    target = tmp_path / "out"
    out = cli("download", repo_id, "--local-dir", target)
    assert out.out.strip() == str(target)
    for rel, data in FILES.items():
        assert (target / rel).read_bytes() == data
        assert not (target / rel).is_symlink()
        meta = (target / ".cache" / "huggingface" / "download" / f"{rel}.metadata").read_text().splitlines()
        assert meta[0] == sha and meta[1] == etag_of(alice, repo_id, rel)
    assert not cli.hub_cache.exists() or not any(cli.hub_cache.iterdir())

    again = cli("download", repo_id, "--local-dir", target, "--json").json
    assert again["downloaded"] == [] and again["bytes"] == 0

    # Uploading the folder elsewhere does not upload the download metadata.
    copy = alice.new_repo_id("copy")
    up = cli("upload", copy, target, "--json", token=alice.write_token).json
    assert not [p for p in up["uploaded"] if p.startswith(".cache")]
    assert not [p for p in alice.api.list_repo_files(copy) if p.startswith(".cache")]

    # The official client sees the files as up to date and leaves them alone.
    before = {rel: (target / rel).stat() for rel in FILES}
    cli.hf("download", repo_id, "--local-dir", str(target))
    for rel, st in before.items():
        now = (target / rel).stat()
        assert (now.st_ino, now.st_mtime_ns) == (st.st_ino, st.st_mtime_ns), f"hf downloaded {rel} again"


def test_download_to_a_local_dir_after_hf(cli, alice, tmp_path):
    repo_id = repo_with_files(alice, FILES)
    target = tmp_path / "out"
    cli.hf("download", repo_id, "--local-dir", str(target))
    out = cli("download", repo_id, "--local-dir", target, "--json").json
    assert out["downloaded"] == [] and out["bytes"] == 0, "hangar reads the metadata hf wrote"


def test_download_a_tag_or_a_commit(cli, alice, tmp_path):
    repo_id = repo_with_files(alice, {"v.txt": b"one\n"})
    first = head(alice, repo_id)
    alice.api.create_tag(repo_id, tag="v1")
    alice.api.upload_file(path_or_fileobj=b"two\n", path_in_repo="v.txt", repo_id=repo_id)
    second = head(alice, repo_id)

    tagged = cli("download", repo_id, "v.txt", "--revision", "v1").out.strip()
    assert Path(tagged).read_bytes() == b"one\n"
    folder = storage(cli.hub_cache, repo_id)
    assert (folder / "refs" / "v1").read_text() == first
    assert Path(cli("download", repo_id, "v.txt").out.strip()).read_bytes() == b"two\n"
    assert (folder / "refs" / "main").read_text() == second

    by_commit = cli("download", repo_id, "--revision", first, "--json").json
    assert by_commit["commit"] == first
    assert (folder / "snapshots" / first / "v.txt").read_bytes() == b"one\n"
    assert not (folder / "refs" / first).exists(), "a commit id gets no ref file"
    # huggingface_hub loads the tag offline.
    cli.python(
        f"from huggingface_hub import hf_hub_download\n"
        f"p = hf_hub_download({repo_id!r}, 'v.txt', revision='v1', local_files_only=True)\n"
        f"assert open(p, 'rb').read() == b'one\\n'\n",
        env={"HF_HUB_OFFLINE": "1"},
    )
    cli("download", repo_id, "--revision", "no-such-branch", code=5)


@pytest.fixture
def lfs_repo(alice, tmp_path_factory):
    big = write_random_file(tmp_path_factory.mktemp("big") / "big.bin", LFS_SIZE)
    repo_id = alice.new_repo_id("big")
    alice.api.create_repo(repo_id)
    alice.api.upload_file(path_or_fileobj=str(big.path), path_in_repo="big.bin", repo_id=repo_id)
    alice.api.upload_file(path_or_fileobj=b"small\n", path_in_repo="small.txt", repo_id=repo_id)
    return repo_id, big


def test_download_resumes_a_partial_blob(cli, lfs_repo):
    repo_id, big = lfs_repo
    blobs = storage(cli.hub_cache, repo_id) / "blobs"
    blobs.mkdir(parents=True)
    half = big.size // 2
    with open(big.path, "rb") as f:
        (blobs / f"{big.sha256}.incomplete").write_bytes(f.read(half))
    out = cli("download", repo_id, "big.bin", "--json").json
    assert file_sha256(out["path"]) == big.sha256
    assert out["bytes"] == big.size - half, "only the missing half is fetched"
    assert (blobs / big.sha256).stat().st_size == big.size
    assert not (blobs / f"{big.sha256}.incomplete").exists()


def test_a_corrupted_partial_blob_is_never_put_in_place(cli, lfs_repo):
    repo_id, big = lfs_repo
    blobs = storage(cli.hub_cache, repo_id) / "blobs"
    blobs.mkdir(parents=True)
    (blobs / f"{big.sha256}.incomplete").write_bytes(b"\xff" * (big.size // 2))
    first = cli("download", repo_id, "big.bin", code=None)
    if first.code != 0:
        assert "big.bin" in first.err
        assert not (blobs / big.sha256).exists()
        cli("download", repo_id, "big.bin")
    assert file_sha256(blobs / big.sha256) == big.sha256


def test_a_network_drop_mid_download_then_the_next_run_resumes(server, cli, lfs_repo):
    repo_id, big = lfs_repo
    proxy = Proxy(server.endpoint)
    try:
        proxy.cut = lambda method, path, status, size: method == "GET" and status == 200 and size == big.size
        out = cli("download", repo_id, "big.bin", "--endpoint", proxy.endpoint, code=7)
        assert proxy.endpoint in out.err
        assert "again" in out.err
    finally:
        proxy.close()
    blobs = storage(cli.hub_cache, repo_id) / "blobs"
    assert not (blobs / big.sha256).exists()
    partial = blobs / f"{big.sha256}.incomplete"
    have = partial.stat().st_size if partial.exists() else 0
    again = cli("download", repo_id, "big.bin", "--json").json
    assert file_sha256(again["path"]) == big.sha256
    assert again["bytes"] == big.size - have
    assert have > 0, "what arrived before the drop was kept"


def test_download_interrupted_with_ctrl_c_then_resumed(server, cli, lfs_repo):
    repo_id, big = lfs_repo
    proxy = Proxy(server.endpoint)
    try:
        proxy.stall = lambda method, path, status, size: method == "GET" and status == 200 and size == big.size
        proc = cli.popen("download", repo_id, "big.bin", "--endpoint", proxy.endpoint)
        assert proxy.stalled.wait(30), "the download never started"
        partial = storage(cli.hub_cache, repo_id) / "blobs" / f"{big.sha256}.incomplete"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (partial.exists() and partial.stat().st_size > 0):
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 130, f"exit {proc.returncode}\n{out}\n{err}"
        assert "Interrupted" in err
    finally:
        proxy.close()
    folder = storage(cli.hub_cache, repo_id)
    assert not (folder / "blobs" / big.sha256).exists()
    assert not list(folder.glob("snapshots/*/big.bin")), "no snapshot entry for an unfinished file"
    have = partial.stat().st_size if partial.exists() else 0
    again = cli("download", repo_id, "big.bin", "--json").json
    assert file_sha256(again["path"]) == big.sha256
    assert again["bytes"] == big.size - have


# =============================================================================================================
# repo
# =============================================================================================================


def test_repo_create_info_ls_settings_delete(cli, alice, tmp_path):
    repo_id = alice.new_repo_id("managed")
    out = cli("repo", "create", repo_id, "--private", token=alice.write_token)
    assert repo_id in out.out
    assert alice.api.model_info(repo_id).private is True
    out = cli("repo", "create", repo_id, token=alice.write_token, code=1)
    assert out.err.strip()
    cli("repo", "create", repo_id, "--exist-ok", token=alice.write_token)

    alice.api.upload_file(path_or_fileobj=b"hello\n", path_in_repo="dir/hello.txt", repo_id=repo_id)
    info = cli("repo", "info", repo_id, "--json", token=alice.read_token).json
    assert info["id"] == repo_id and info["private"] is True
    assert info["sha"] == head(alice, repo_id)
    human = cli("repo", "info", repo_id, token=alice.read_token).out
    assert repo_id in human and "private: true" in human
    ls = cli("repo", "ls", repo_id, token=alice.read_token).out
    assert "dir/hello.txt" in ls
    ls_json = {f["path"]: f for f in cli("repo", "ls", repo_id, "--json", token=alice.read_token).json}
    assert ls_json["dir/hello.txt"]["size"] == 6 and ls_json["dir/hello.txt"]["oid"] == git_blob_sha1(b"hello\n")
    cli("repo", "ls", repo_id, "--revision", "no-such-branch", token=alice.read_token, code=5)

    cli("repo", "settings", repo_id, "--public", token=alice.write_token)
    assert alice.api.model_info(repo_id).private is False
    cli("repo", "settings", repo_id, "--gated", "manual", token=alice.write_token)
    assert alice.api.model_info(repo_id).gated == "manual"
    cli("repo", "settings", repo_id, "--gated", "off", "--private", token=alice.write_token)
    info = alice.api.model_info(repo_id)
    assert info.gated is False and info.private is True
    cli("repo", "settings", repo_id, token=alice.write_token, code=1)
    cli("repo", "settings", repo_id, "--gated", "sometimes", token=alice.write_token, code=1)

    # Deleting: asks for the name on stdin without --yes.
    out = cli("repo", "delete", repo_id, input="nope\n", token=alice.admin_token, code=1)
    assert "nothing was deleted" in out.err.lower()
    assert alice.api.repo_exists(repo_id)
    cli("repo", "delete", repo_id, token=alice.admin_token, code=1)  # no input at all
    assert alice.api.repo_exists(repo_id)
    # A write token may not delete: the message names the admin role.
    out = cli("repo", "delete", repo_id, "--yes", token=alice.write_token, code=4)
    assert "admin" in out.err
    assert alice.api.repo_exists(repo_id)
    cli("repo", "delete", repo_id, input=repo_id + "\n", token=alice.admin_token)
    assert not alice.api.repo_exists(repo_id)
    cli("repo", "info", repo_id, token=alice.read_token, code=5)


def test_more_files_than_a_page_of_the_tree(cli, alice, tmp_path):
    """The tree API answers 1,000 entries a page: listing, uploading and downloading follow the Link header."""
    files = {f"d{i % 3}/f{i:04d}.txt": f"{i}\n" for i in range(1010)}
    src = write_files(tmp_path / "src", files)
    repo_id = alice.new_repo_id("many")
    out = cli("upload", repo_id, src, "--json", token=alice.write_token).json
    assert len(out["uploaded"]) == 1010
    # The official client follows the same Link header (a failure here is the server's, not the CLI's).
    assert set(alice.api.list_repo_files(repo_id)) >= set(files)
    listed = cli("repo", "ls", repo_id, "--json").json
    assert {f["path"] for f in listed} >= set(files)
    again = cli("upload", repo_id, src, "--delete", "*", "--json", token=alice.write_token).json
    assert again["uploaded"] == [] and len(again["unchanged"]) == 1010
    assert again["deleted"] in ([], [".gitattributes"])
    got = cli("download", repo_id, "--include", "d2/*", "--json").json
    assert sorted(got["downloaded"]) == sorted(p for p in files if p.startswith("d2/"))
    snapshot = Path(got["path"])
    assert (snapshot / "d2" / "f1007.txt").read_text() == "1007\n"


def test_repo_commands_on_a_dataset(cli, alice):
    repo_id = alice.new_repo_id("ds")
    cli("repo", "create", repo_id, "--repo-type", "dataset", token=alice.write_token)
    assert alice.api.dataset_info(repo_id).id == repo_id
    cli("repo", "info", repo_id, token=alice.read_token, code=5)  # not a model
    assert cli("repo", "info", repo_id, "--repo-type", "dataset", "--json", token=alice.read_token).json["id"] == repo_id
    cli("repo", "delete", repo_id, "--repo-type", "dataset", "--yes", token=alice.admin_token)
    assert not alice.api.repo_exists(repo_id, repo_type="dataset")


# =============================================================================================================
# access-requests
# =============================================================================================================

GATED_README = """---
license: mit
extra_gated_prompt: "Tell us who you are."
extra_gated_fields:
  Company: text
---
# Gated
"""


def _gated_repo(cli, owner) -> str:
    repo_id = repo_with_files(owner, {"README.md": GATED_README.encode(), "w.bin": b"gated weights\n"})
    cli("repo", "settings", repo_id, "--gated", "manual", token=owner.write_token)
    return repo_id


def test_access_requests_list_reject_accept_grant(cli, alice, bob, make_user):
    repo_id = _gated_repo(cli, alice)
    asked = cli("access-requests", "ask", repo_id, "--field", "Company=Acme", token=bob.read_token)
    assert "pending" in asked.out.lower()

    pending = cli("access-requests", "list", repo_id, "--json", token=alice.write_token).json
    assert [r["user"]["user"] for r in pending] == [bob.name]
    assert pending[0]["fields"]["Company"] == "Acme"
    human = cli("access-requests", "list", repo_id, token=alice.write_token).out
    assert bob.name in human
    # Someone without write access to the repo cannot review its requests.
    cli("access-requests", "list", repo_id, token=bob.write_token, code=4)
    cli("access-requests", "accept", repo_id, bob.name, token=bob.write_token, code=4)

    cli("access-requests", "reject", repo_id, bob.name, "--reason", "Not now", token=alice.write_token)
    rejected = cli("access-requests", "list", repo_id, "--status", "rejected", "--json", token=alice.write_token).json
    assert [r["user"]["user"] for r in rejected] == [bob.name]
    assert cli("access-requests", "list", repo_id, token=alice.write_token).out.strip() == "No pending requests."

    # Accepting (after the rejection) lets bob download.
    cli("access-requests", "accept", repo_id, bob.name, token=alice.write_token)
    out = cli("download", repo_id, "w.bin", token=bob.read_token)
    assert Path(out.out.strip()).read_bytes() == b"gated weights\n"

    # Granting without a request.
    carol = make_user("carol")
    cli("access-requests", "grant", repo_id, carol.name, token=alice.write_token)
    accepted = cli("access-requests", "list", repo_id, "--status", "accepted", "--json", token=alice.write_token).json
    assert {r["user"]["user"] for r in accepted} == {bob.name, carol.name}
    cli("download", repo_id, "w.bin", "--cache-dir", Path(cli.cwd) / "carol", token=carol.read_token)


def test_gated_repo_errors_say_what_to_do(cli, alice, bob):
    repo_id = _gated_repo(cli, alice)
    # Not requested yet: how to ask.
    out = cli("download", repo_id, token=bob.read_token, code=4)
    assert f"hangar access-requests ask {repo_id}" in out.err
    failure = cli("download", repo_id, "--json", token=bob.read_token, code=4).json
    assert failure["error"] == "GatedRepo" and failure["exitCode"] == 4
    assert not list(cli.hub_cache.rglob("w.bin"))

    # Anonymous: log in first.
    anon = cli("download", repo_id, code=None)
    assert anon.code in (3, 4), anon.describe()
    assert "hangar auth login" in anon.err

    cli("access-requests", "ask", repo_id, "--field", "Company=Acme", token=bob.read_token)
    # Pending: the message says so.
    out = cli("download", repo_id, token=bob.read_token, code=4)
    assert "pending" in out.err.lower() or "awaiting a review" in out.err.lower()
    assert "access-requests ask" not in out.err, f"a pending request is not to be made again:\n{out.err}"

    reason = "Only research labs, sorry"
    cli("access-requests", "reject", repo_id, bob.name, "--reason", reason, token=alice.write_token)
    out = cli("download", repo_id, token=bob.read_token, code=4)
    assert "rejected" in out.err.lower()
    assert reason in out.err
    again = cli("access-requests", "ask", repo_id, "--field", "Company=Acme", token=bob.read_token, code=4)
    assert "cannot ask again" in again.err
    # A rejected user cannot ask again (docs/ACCESS.md): the errors must not send them to `ask`.
    assert "access-requests ask" not in out.err, f"download tells a rejected user to ask again:\n{out.err}"
    assert "access-requests ask" not in again.err, f"`ask` refuses, then tells the user to ask:\n{again.err}"


def test_asking_access_to_an_automatic_gated_repo(cli, alice, bob):
    repo_id = repo_with_files(alice, {"w.bin": b"auto\n"})
    cli("repo", "settings", repo_id, "--gated", "auto", token=alice.write_token)
    cli("download", repo_id, token=bob.read_token, code=4)
    out = cli("access-requests", "ask", repo_id, token=bob.read_token)
    assert "granted" in out.out.lower()
    cli("download", repo_id, token=bob.read_token)


# =============================================================================================================
# errors
# =============================================================================================================


def test_not_logged_in(cli, tmp_path):
    src = write_files(tmp_path / "src", {"a.txt": "a\n"})
    out = cli("upload", "someone/repo", src, code=3)
    assert "not logged in" in out.err.lower()
    for where in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", str(cli.token_file), "hangar auth login"):
        assert where in out.err, f"{where!r} is not mentioned in: {out.err}"
    assert out.err.index("HF_TOKEN") < out.err.index(str(cli.token_file)), "listed in the order they are looked for"
    failure = cli("upload", "someone/repo", src, "--format", "json", code=3).json
    assert failure["error"] == "NotLoggedIn" and failure["exitCode"] == 3 and "HF_TOKEN" in failure["message"]
    cli("auth", "whoami", code=3)
    cli("repo", "create", "someone/repo", code=3)


def test_an_invalid_or_revoked_token(server, cli, alice):
    out = cli("repo", "info", "any/repo", token=well_formed_unknown_token(), code=3)
    assert "invalid or revoked" in out.err
    assert "HF_TOKEN" in out.err, "the message says which token was refused"
    assert "hangar auth login" in out.err

    name = unique_name("gone")
    token = server.create_token(alice.name, name, "read")
    cli("auth", "login", "--token", token)
    server.revoke_token(alice.name, name)
    out = cli("auth", "whoami", code=3)
    assert "invalid or revoked" in out.err
    assert str(cli.token_file) in out.err
    failure = cli("auth", "whoami", "--format", "json", code=3).json
    assert failure["error"] == "InvalidToken" and failure["exitCode"] == 3
    assert "invalid or revoked" in failure["message"]
    # Logging in again with it fails and keeps nothing new.
    cli("auth", "logout")
    out = cli("auth", "login", "--token", token, code=3)
    assert "invalid or revoked" in out.err
    assert not cli.token_file.exists()


def test_an_expired_token(server, cli, alice):
    token = server.create_token(alice.name, unique_name("expired"), "read", "--expires-in-days", "0")
    time.sleep(0.01)
    out = cli("auth", "whoami", token=token, code=3)
    assert "expired" in out.err
    assert "hangar auth login" in out.err
    assert cli("auth", "whoami", "--json", token=token, code=3).json["error"] == "TokenExpired"
    out = cli("auth", "login", "--token", token, code=3)
    assert "expired" in out.err
    assert not cli.token_file.exists()


def test_forbidden_names_the_missing_permission(server, cli, alice, tmp_path):
    repo_id = repo_with_files(alice, {"a.txt": b"a"})
    src = write_files(tmp_path / "src", {"b.txt": "b\n"})
    out = cli("upload", repo_id, src, token=alice.read_token, code=4)
    assert "write" in out.err
    assert "read" in out.err

    fg = server.create_token(alice.name, unique_name("fg"), "fineGrained", "--permission",
                             f"model:{repo_id}=repo.content.read")
    out = cli("upload", repo_id, src, token=fg, code=4)
    assert "repo.write" in out.err
    failure = cli("upload", repo_id, src, "--json", token=fg, code=4).json
    assert failure["error"] == "Forbidden" and failure["exitCode"] == 4
    assert "b.txt" not in alice.api.list_repo_files(repo_id)


def test_repository_not_found(cli, alice):
    missing = alice.new_repo_id("missing")
    out = cli("repo", "info", missing, code=5)
    assert missing in out.err
    assert "hangar auth login" in out.err, "an anonymous caller is told that a private repo needs a login"
    out = cli("download", missing, token=alice.read_token, code=5)
    assert missing in out.err
    private = repo_with_files(alice, {"a.txt": b"a"}, private=True)
    cli("download", private, code=5)
    failure = cli("repo", "info", missing, "--format", "json", code=5).json
    assert set(failure) == {"error", "message", "exitCode"}
    assert failure["error"] == "RepoNotFound" and failure["exitCode"] == 5 and missing in failure["message"]


def test_an_invalid_command_line_exits_2(cli):
    assert cli("upload", code=2).err
    assert cli("repo", "settings", "a/b", "--private", "--public", code=2).err
    assert cli("auth", "nope", code=2).err


def test_rate_limited(tmp_path):
    srv = start_private_server(tmp_path / "private", env={"HANGAR_AUTH_FAILURE_LIMIT": "3"})
    try:
        cli = Cli(srv.endpoint, tmp_path)
        for _ in range(3):
            cli("auth", "whoami", token=well_formed_unknown_token(), code=3)
        out = cli("auth", "whoami", token=well_formed_unknown_token(), code=6)
        assert "rate limited" in out.err.lower()
        assert "Retry in" in out.err and "seconds" in out.err
        failure = cli("auth", "whoami", "--json", token=well_formed_unknown_token(), code=6).json
        assert failure["error"] == "RateLimited" and failure["exitCode"] == 6
    finally:
        srv.stop()


def _big_folder(root: Path) -> dict[str, object]:
    return {name: write_random_file(root / name, LFS_SIZE) for name in ("a.bin", "b.bin", "c.bin")}


def _interrupt(cli, proxy, repo_id, src, token):
    proc = cli.popen("upload", repo_id, src, "--endpoint", proxy.endpoint, token=token)
    if not proxy.held.wait(60):
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"the upload never reached the request to hold (exit {proc.returncode})\n{out}\n{err}")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    return proc.returncode, out, err


def test_ctrl_c_during_lfs_upload_commits_nothing_and_the_next_run_resumes(server, cli, alice, tmp_path):
    src = tmp_path / "big"
    files = _big_folder(src)
    repo_id = alice.new_repo_id("interrupted")
    alice.api.create_repo(repo_id)
    before = head(alice, repo_id)

    proxy = Proxy(server.endpoint)
    try:
        # Hold the upload of the second file's bytes: the first one is then on the server, the others not.
        second = files["b.bin"].sha256
        proxy.hold = lambda method, path: method == "PUT" and second in path
        code, out, err = _interrupt(cli, proxy, repo_id, src, alice.write_token)
        assert code == 130, f"exit {code}\n{out}\n{err}"
        assert "Interrupted" in err
        assert not any("/commit/" in s.path for s in proxy.seen), "nothing was committed"
    finally:
        proxy.close()
    assert head(alice, repo_id) == before
    assert set(alice.api.list_repo_files(repo_id)) == {".gitattributes"} or not (
        set(alice.api.list_repo_files(repo_id)) & set(files)
    )

    done = cli("upload", repo_id, src, "--json", token=alice.write_token).json
    assert sorted(done["uploaded"]) == ["a.bin", "b.bin", "c.bin"]
    total = sum(f.size for f in files.values())
    assert done["lfsBytesSent"] < total, "the file the server already had was not sent again"
    assert done["lfsBytesSent"] == files["b.bin"].size + files["c.bin"].size
    entries = {e.path: e for e in alice.api.list_repo_tree(repo_id, expand=True)}
    for name, f in files.items():
        assert entries[name].lfs.sha256 == f.sha256
    assert len(alice.api.list_repo_commits(repo_id)) == 2


def test_a_network_drop_mid_upload_then_the_next_run_resumes(server, cli, alice, tmp_path):
    src = tmp_path / "big"
    files = _big_folder(src)
    repo_id = alice.new_repo_id("dropped")
    alice.api.create_repo(repo_id)
    before = head(alice, repo_id)
    proxy = Proxy(server.endpoint)
    try:
        second = files["b.bin"].sha256
        proxy.drop = lambda method, path: method == "PUT" and second in path
        out = cli("upload", repo_id, src, "--endpoint", proxy.endpoint, token=alice.write_token, code=7)
        assert proxy.endpoint in out.err
        assert "again" in out.err
        assert not any("/commit/" in s.path for s in proxy.seen)
    finally:
        proxy.close()
    assert head(alice, repo_id) == before
    done = cli("upload", repo_id, src, "--json", token=alice.write_token).json
    assert sorted(done["uploaded"]) == ["a.bin", "b.bin", "c.bin"]
    assert done["lfsBytesSent"] == files["b.bin"].size + files["c.bin"].size


def test_ctrl_c_before_the_commit_then_nothing_is_sent_again(server, cli, alice, tmp_path):
    src = tmp_path / "big"
    files = _big_folder(src)
    (src / "config.json").write_text("{}\n")
    repo_id = alice.new_repo_id("interrupted")
    proxy = Proxy(server.endpoint)
    try:
        proxy.hold = lambda method, path: method == "POST" and "/commit/" in path
        code, out, err = _interrupt(cli, proxy, repo_id, src, alice.write_token)
        assert code == 130, f"exit {code}\n{out}\n{err}"
        assert "Nothing was committed" in err
    finally:
        proxy.close()
    # The upload created the repo, but committed nothing to it.
    assert alice.api.repo_exists(repo_id)
    assert not set(alice.api.list_repo_files(repo_id)) & {"a.bin", "b.bin", "c.bin", "config.json"}
    commits = len(alice.api.list_repo_commits(repo_id))

    done = cli("upload", repo_id, src, "--json", token=alice.write_token).json
    assert done["lfsBytesSent"] == 0, "every large file was already on the server"
    assert sorted(done["uploaded"]) == ["a.bin", "b.bin", "c.bin", "config.json"]
    assert len(alice.api.list_repo_commits(repo_id)) == commits + 1
    path = alice.api.hf_hub_download(repo_id, "c.bin", cache_dir=tmp_path / "check")
    assert file_sha256(path) == files["c.bin"].sha256
