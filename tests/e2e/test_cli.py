"""The `hf` command line tool shipped with huggingface_hub, run as a user would run it."""

import configparser
import json

import pytest
from huggingface_hub.errors import RepositoryNotFoundError



def test_login_then_whoami(hf, alice):
    hf("auth", "login", "--token", alice.write_token, "--format", "human")
    assert (hf.home / "token").read_text().strip() == alice.write_token
    # The token is stored under the name whoami reports for it.
    stored = configparser.ConfigParser()
    stored.read(hf.home / "stored_tokens")
    assert stored[alice.token_name("write")]["hf_token"] == alice.write_token

    who = hf("auth", "whoami", "--format", "json")
    assert json.loads(who.stdout)["user"] == alice.name
    human = hf("auth", "whoami", "--format", "human")
    assert alice.name in human.stdout


def test_login_with_a_bad_token_fails(hf, alice):
    bad = alice.write_token[:-1] + ("a" if alice.write_token[-1] != "a" else "b")
    result = hf("auth", "login", "--token", bad, check=False)
    assert result.returncode != 0
    assert not (hf.home / "token").exists()


def test_whoami_with_a_revoked_token_fails(server, hf, alice):
    hf("auth", "login", "--token", alice.read_token)
    server.revoke_token(alice.name, alice.token_name("read"))
    result = hf("auth", "whoami", check=False)
    assert result.returncode == 1
    assert alice.name not in result.stdout


def test_upload_a_folder_creates_the_repo(hf, alice, tmp_path):
    src = tmp_path / "model"
    (src / "sub").mkdir(parents=True)
    (src / "config.json").write_bytes(b'{"a": 1}\n')
    (src / "sub" / "notes with space.txt").write_bytes(b"notes\n")
    repo_id = alice.new_repo_id("cli-upload")

    hf("upload", repo_id, str(src), "--commit-message", "Upload from the CLI", token=alice.write_token)

    assert {"config.json", "sub/notes with space.txt"} <= set(alice.api.list_repo_files(repo_id))
    assert alice.api.list_repo_commits(repo_id)[0].title == "Upload from the CLI"
    assert alice.api.model_info(repo_id).private is False


def test_upload_a_single_file_to_a_private_repo(hf, alice, tmp_path):
    src = tmp_path / "weights.txt"
    src.write_bytes(b"w\n")
    repo_id = alice.new_repo_id("cli-private")
    hf("upload", repo_id, str(src), "--private", token=alice.write_token)
    info = alice.api.model_info(repo_id)
    assert info.private is True
    assert "weights.txt" in {s.rfilename for s in info.siblings}


def test_download_to_a_local_dir(hf, alice, tmp_path):
    repo_id = alice.new_repo_id("cli-download")
    alice.api.create_repo(repo_id, private=True)
    files = {"a.txt": b"a\n", "nested/b.bin": bytes(range(256))}
    for rel, data in files.items():
        alice.api.upload_file(path_or_fileobj=data, path_in_repo=rel, repo_id=repo_id)
    target = tmp_path / "out"

    hf("download", repo_id, "--local-dir", str(target), token=alice.read_token)

    for rel, data in files.items():
        assert (target / rel).read_bytes() == data, rel

    one = tmp_path / "one"
    hf("download", repo_id, "nested/b.bin", "--local-dir", str(one), token=alice.read_token)
    assert (one / "nested" / "b.bin").read_bytes() == files["nested/b.bin"]
    assert not (one / "a.txt").exists()


def test_download_of_a_private_repo_without_a_token_fails(hf, alice, tmp_path):
    repo_id = alice.new_repo_id("cli-hidden")
    alice.api.create_repo(repo_id, private=True)
    alice.api.upload_file(path_or_fileobj=b"s", path_in_repo="s.txt", repo_id=repo_id)
    result = hf("download", repo_id, "--local-dir", str(tmp_path / "out"), check=False)
    assert result.returncode == 1
    assert not (tmp_path / "out" / "s.txt").exists()


def test_repos_create_and_delete(hf, alice):
    repo_id = alice.new_repo_id("cli-repo")
    hf("repos", "create", repo_id, "--private", token=alice.write_token)
    assert alice.api.model_info(repo_id).private is True

    hf("repos", "create", repo_id, "--exist-ok", token=alice.write_token)
    assert hf("repos", "create", repo_id, token=alice.write_token, check=False).returncode == 1

    # Deleting needs an admin token.
    assert hf("repos", "delete", repo_id, "-y", token=alice.write_token, check=False).returncode == 1
    assert alice.api.repo_exists(repo_id)
    hf("repos", "delete", repo_id, "-y", token=alice.admin_token)
    with pytest.raises(RepositoryNotFoundError):
        alice.api.model_info(repo_id)


def test_repos_create_a_dataset(hf, alice):
    repo_id = alice.new_repo_id("cli-data")
    hf("repos", "create", repo_id, "--type", "dataset", token=alice.write_token)
    assert alice.api.dataset_info(repo_id).id == repo_id
