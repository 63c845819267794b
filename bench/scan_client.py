"""The official Hugging Face client's side of bench/scan.sh (not a test; run by that script).

    scan_client.py OUT_DIR

Makes commits of many small text files against two Hangar servers, one with secret scanning on and
one with it off, and prints a Markdown table of the wall times. Configuration comes from the
environment (bench/scan.sh sets all of it):

    SCAN_ON_URL, SCAN_ON_TOKEN, SCAN_ON_LEAK_TOKEN, SCAN_ON_PID      server with scanning on: its
    SCAN_OFF_URL, SCAN_OFF_TOKEN, SCAN_OFF_LEAK_TOKEN, SCAN_OFF_PID  URL, the bench user's write token,
                                                                     a live token of ANOTHER user (the
                                                                     "leak"), the server's process id
    BENCH_SCAN_COMMITS   timed commits per variant
    BENCH_SCAN_FILES     files per commit
    BENCH_SCAN_WARMUP    untimed warm-up rounds
    BENCH_USER           namespace of the repositories

Four variants, two kinds of content on each server:
    clean   FILES config/code-like text files of 1-4 KB; about one in three contains "hf_" (library
            names such as hf_hub_download, placeholders such as hf_XXXX..., and random 37-character
            look-alikes whose checksum is wrong), none a well-formed token
    leak    the same, but one file holds the live token of another user on that server
Every commit goes to a fresh PRIVATE model repo (created untimed), so a leak only earns an
X-HF-Warning and never revokes the token, and each variant sees the same empty starting point. The
content is different in every commit (no blob is ever already stored) and generated before the
clock starts. Commits run in rounds; each round makes one commit of every variant, in an order that
rotates from round to round, so drift of the machine (page cache, disk, other load) spreads evenly
over the variants. The first BENCH_SCAN_WARMUP rounds are not counted: the first commits on a fresh
data directory cost several times the kernel time of later ones, on both servers alike.

Measured per commit: the wall time of HfApi.create_commit (hashing, the preupload requests and the
commit request), the time of the commit request alone (from sending it to its response headers: the
server answers only after the scan), and the server's CPU time (utime+stime of /proc/PID/stat)
during the call. Raw numbers go to OUT_DIR/scan-commits.csv.

Correctness, checked on every commit: the commit request answers 200; with scanning on, a leak
commit's response carries an X-HF-Warning naming the leaking file and a clean commit's carries none;
with scanning off no response carries one. A failed check is printed under the table and makes the
exit status 1.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import os
import random
import re
import statistics
import string
import sys
import time

from huggingface_hub import CommitOperationAdd, HfApi, set_client_factory
from huggingface_hub.utils._http import default_client_factory

# --- the token format (crates/hangar-core/src/token.rs), to make sure only the leak is a token ------

ALPHABET = string.ascii_uppercase + string.ascii_lowercase
RANDOM_LEN, CHECK_LEN = 29, 5


def _checksum(random_part: str) -> str:
    n = int.from_bytes(hashlib.sha256(random_part.encode()).digest()[:8], "big")
    out = []
    for _ in range(CHECK_LEN):
        out.append(ALPHABET[n % 52])
        n //= 52
    return "".join(out)


def is_well_formed(s: str) -> bool:
    if len(s) != 3 + RANDOM_LEN + CHECK_LEN or not s.startswith("hf_"):
        return False
    body = s[3:]
    return all(c in ALPHABET for c in body) and _checksum(body[:RANDOM_LEN]) == body[RANDOM_LEN:]


TOKEN_SHAPE = re.compile(rb"(?<![A-Za-z0-9_])hf_[A-Za-z]{34}(?![A-Za-z0-9_])")


def look_alike(rng: random.Random) -> str:
    """hf_ and 34 letters, shaped like a token but with a wrong checksum."""
    while True:
        t = "hf_" + "".join(rng.choice(ALPHABET) for _ in range(RANDOM_LEN + CHECK_LEN))
        if not is_well_formed(t):
            return t


# --- content ------------------------------------------------------------------------------------------

WORDS = ("model", "layer", "hidden", "dropout", "vocab", "token", "batch", "learning", "rate", "warmup", "steps",
         "encoder", "decoder", "attention", "heads", "norm", "eps", "scale", "cache", "path", "config", "train",
         "eval", "seed", "output", "input", "embed", "size", "max", "min", "shard", "dataset", "split", "loss")
DIRS = ("configs", "configs/train", "configs/eval", "src", "src/models", "src/data", "src/utils", "scripts",
        "docs", "docs/guides", "tests", "tests/unit", "notebooks", "tokenizer", "examples", "examples/finetune")
# Lines with "hf_" that are not tokens, as found in real repositories.
HF_LINES = (
    "from huggingface_hub import hf_hub_download, hf_hub_url",
    "path = hf_hub_download(repo_id=REPO_ID, filename=\"config.json\")",
    "os.environ[\"HF_HUB_ENABLE_HF_TRANSFER\"] = \"1\"  # needs pip install hf_transfer",
    "# token: hf_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX (put yours in HF_TOKEN, never here)",
    "use_hf_xet: false",
    "hf_cache_dir = \"~/.cache/huggingface\"",
)


def _ident(rng: random.Random) -> str:
    return "_".join(rng.sample(WORDS, rng.randint(1, 3)))


def _line(rng: random.Random, kind: str, with_hf: bool) -> str:
    if with_hf:
        if rng.random() < 0.5:
            return rng.choice(HF_LINES)
        return {"py": f"EXAMPLE_TOKEN = \"{look_alike(rng)}\"  # revoked, for the docs",
                "json": f"  \"example_token\": \"{look_alike(rng)}\",",
                "yaml": f"example_token: {look_alike(rng)}",
                "md": f"Pass a token such as `{look_alike(rng)}` with `--token`.",
                "toml": f"example_token = \"{look_alike(rng)}\""}[kind]
    a, b = _ident(rng), _ident(rng)
    num = rng.choice((rng.randint(0, 4096), round(rng.random(), 5), f"{rng.random():.1e}"))
    if kind == "py":
        return rng.choice((f"    {a} = {b}({num!r})", f"def {a}(self, {b}, **kwargs):", f"        return self.{a}[{b!r}]",
                           f"    # {a.replace('_', ' ')} {b.replace('_', ' ')}", f"import {a}", f"    if {a} > {num!r}:"))
    if kind == "json":
        return rng.choice((f"  \"{a}\": {num!r},".replace("'", '"'), f"  \"{a}\": \"{b}\",", f"  \"{a}\": [{rng.randint(1, 64)}, {rng.randint(1, 64)}],"))
    if kind == "yaml":
        return rng.choice((f"{a}: {num}", f"  {a}: {b}", f"- {a}", f"# {a} {b}"))
    if kind == "toml":
        return rng.choice((f"{a} = {num!r}".replace("'", '"'), f"[{a}]", f"{a} = \"{b}\""))
    return rng.choice((f"## {a.replace('_', ' ').title()}", f"Set `{a}` to change the {b.replace('_', ' ')} ({num}).",
                       f"- `{a}`: the {b.replace('_', ' ')}", ""))


def make_files(seed: str, count: int, leak_token: str | None) -> list[tuple[str, bytes]]:
    """`count` text files of 1-4 KB; with `leak_token`, one of them holds it."""
    rng = random.Random(seed)
    kinds = ("py", "json", "yaml", "md", "toml")
    files = []
    for i in range(count):
        kind = rng.choice(kinds)
        target = rng.randint(1024, 4096)
        with_hf = rng.random() < 1 / 3
        hf_at = rng.randint(0, 20) if with_hf else -1
        lines, size = [], 0
        while size < target:
            line = _line(rng, kind, len(lines) == hf_at)
            lines.append(line)
            size += len(line) + 1
        text = "\n".join(lines) + "\n"
        files.append((f"{rng.choice(DIRS)}/{_ident(rng)}_{i:04d}.{kind}", text[:target].encode()))
    if leak_token is not None:
        at = rng.randrange(count)
        path = f"scripts/push_to_hub_{at:04d}.py"
        text = ("import os\nfrom huggingface_hub import HfApi\n\n"
                f"api = HfApi(token=os.environ.get(\"HF_TOKEN\", \"{leak_token}\"))\n"
                "api.upload_folder(folder_path=\"out\", repo_id=\"team/model\")\n")
        files[at] = (path, text.encode())
    for path, data in files:  # the server's rule (scan.rs, find_tokens): hf_ + 34 letters standing alone
        for m in TOKEN_SHAPE.finditer(data):
            if is_well_formed(m.group().decode()) and m.group().decode() != leak_token:
                raise SystemExit(f"generated a well-formed token in {path}: fix the generator")
    return files


# --- timing hooks -------------------------------------------------------------------------------------

# The commit request of the current create_commit call: seconds to the response headers, and the
# X-HF-Warning values of that response.
_commit: dict = {}


def _client_factory():
    client = default_client_factory()

    def on_request(request) -> None:
        request.extensions["bench_start"] = time.perf_counter()

    def on_response(response) -> None:
        if "/commit/" in response.request.url.path:
            _commit["seconds"] = time.perf_counter() - response.request.extensions["bench_start"]
            _commit["status"] = response.status_code
            _commit["warnings"] = response.headers.get_list("X-HF-Warning")

    client.event_hooks["request"].append(on_request)
    client.event_hooks["response"].append(on_response)
    return client


def cpu_seconds(pid: str) -> tuple[float, float]:
    """User and system CPU seconds of the process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tck = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tck, int(fields[12]) / tck


# --- statistics ---------------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    v = sorted(values)
    k = (len(v) - 1) * p
    lo, hi = math.floor(k), math.ceil(k)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def main() -> int:
    out_dir = sys.argv[1]
    commits = int(os.environ.get("BENCH_SCAN_COMMITS", "7"))
    nfiles = int(os.environ.get("BENCH_SCAN_FILES", "1000"))
    warmups = int(os.environ.get("BENCH_SCAN_WARMUP", "2"))
    user = os.environ["BENCH_USER"]
    servers = {}
    for name in ("on", "off"):
        p = f"SCAN_{name.upper()}_"
        servers[name] = {"api": HfApi(endpoint=os.environ[p + "URL"], token=os.environ[p + "TOKEN"]),
                         "leak": os.environ[p + "LEAK_TOKEN"], "pid": os.environ[p + "PID"]}
        if not is_well_formed(servers[name]["leak"]):
            print(f"the leak token of server '{name}' is not well-formed", file=sys.stderr)
            return 1
    set_client_factory(_client_factory)

    variants = [("on", "clean"), ("off", "clean"), ("on", "leak"), ("off", "leak")]
    results = {v: [] for v in variants}  # (create_commit s, commit request s, server CPU s, round)
    problems: list[str] = []
    rows = []
    counter = 0

    def one_commit(server: str, content: str, timed: bool, round_no: int) -> None:
        nonlocal counter
        counter += 1
        s = servers[server]
        repo_id = f"{user}/scan-{server}-{content}-{counter:03d}"
        s["api"].create_repo(repo_id, private=True)
        files = make_files(f"{server}-{content}-{counter}", nfiles, s["leak"] if content == "leak" else None)
        size = sum(len(d) for _, d in files)
        ops = [CommitOperationAdd(path_in_repo=p, path_or_fileobj=io.BytesIO(d)) for p, d in files]
        leak_path = next((p for p, d in files if b"HfApi(token=os.environ" in d), None)
        _commit.clear()
        cpu0 = cpu_seconds(s["pid"])
        t0 = time.perf_counter()
        s["api"].create_commit(repo_id, operations=ops, commit_message=f"bench: {nfiles} small files")
        wall = time.perf_counter() - t0
        cpu1 = cpu_seconds(s["pid"])
        user_s, sys_s = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
        cpu = user_s + sys_s
        warnings = _commit.get("warnings", [])
        what = f"scanning {server}, {content} commit to {repo_id}"
        if _commit.get("status") != 200:
            problems.append(f"{what}: the commit request was not seen or did not answer 200 ({_commit.get('status')})")
        expect_warning = server == "on" and content == "leak"
        if expect_warning and not any(w.startswith("secrets;") and leak_path in w for w in warnings):
            problems.append(f"{what}: no X-HF-Warning naming {leak_path} (got {warnings!r})")
        if not expect_warning and warnings:
            problems.append(f"{what}: unexpected X-HF-Warning {warnings!r}")
        rows.append([server, content, "timed" if timed else "warm-up", round_no, repo_id, nfiles, size,
                     f"{wall:.4f}", f"{_commit.get('seconds', float('nan')):.4f}", f"{cpu:.3f}", " | ".join(warnings),
                     f"{user_s:.2f}", f"{sys_s:.2f}"])
        if timed:
            results[(server, content)].append((wall, _commit.get("seconds", float("nan")), cpu, round_no))
        print(f"[scan bench] {'' if timed else 'warm-up '}round {round_no}: scanning {server:3}, {content:5}: "
              f"{wall:.3f} s (commit request {_commit.get('seconds', float('nan')):.3f} s, server CPU {cpu:.2f} s = {user_s:.2f} user + {sys_s:.2f} sys, "
              f"{size / 1e6:.2f} MB){' X-HF-Warning' if warnings else ''}", file=sys.stderr, flush=True)

    for r in range(warmups + commits):
        k = r % len(variants)
        for server, content in variants[k:] + variants[:k]:
            one_commit(server, content, r >= warmups, r + 1)

    with open(os.path.join(out_dir, "scan-commits.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["scanning", "content", "kind", "round", "repo", "files", "bytes", "create_commit_s",
                    "commit_request_s", "server_cpu_s", "x_hf_warning", "server_user_s", "server_sys_s"])
        w.writerows(rows)

    def stat(v, i, fn):
        return fn([x[i] for x in results[v]])

    med = statistics.median
    p90 = lambda xs: percentile(xs, 0.9)  # noqa: E731
    avg_size = statistics.mean(int(r[6]) for r in rows) / nfiles / 1000
    print(f"{commits} timed commits per variant (after {warmups} untimed warm-up round{'s' if warmups != 1 else ''}), each of {nfiles} text files "
          f"(mean {avg_size:.2f} KB) into a fresh private repo, `HfApi.create_commit` with HF_HUB_DISABLE_XET=1; "
          "variants interleaved round by round. p90 interpolates between ranks.")
    print()
    print("| Scanning | Content | create_commit median (s) | p90 (s) | commit request median (s) | p90 (s) | server CPU per commit, median (s) | X-HF-Warning |")
    print("|---|---|---|---|---|---|---|---|")
    for server, content in variants:
        v = (server, content)
        warned = sum(1 for r in rows if r[0] == server and r[1] == content and r[2] == "timed" and r[10])
        desc = "clean" if content == "clean" else "leak (1 file with another user's live token)"
        print(f"| {server} | {desc} | {stat(v, 0, med):.3f} | {stat(v, 0, p90):.3f} | "
              f"{stat(v, 1, med):.3f} | {stat(v, 1, p90):.3f} | {stat(v, 2, med):.2f} | {warned} of {len(results[v])} |")
    print()
    print("| Overhead of scanning (on vs off) | create_commit median | create_commit p90 | create_commit, median of per-round differences | commit request median | server CPU median |")
    print("|---|---|---|---|---|---|")
    for content in ("clean", "leak"):
        on, off = ("on", content), ("off", content)

        def pct(i, fn):
            a, b = stat(on, i, fn), stat(off, i, fn)
            return f"{(a - b) / b * 100:+.1f}% ({(a - b) * 1000:+.0f} ms)"

        off_by_round = {x[3]: x[0] for x in results[off]}
        diffs = [x[0] - off_by_round[x[3]] for x in results[on]]
        d = med(diffs)
        paired = f"{d / stat(off, 0, med) * 100:+.1f}% ({d * 1000:+.0f} ms; {min(diffs) * 1000:+.0f} to {max(diffs) * 1000:+.0f} ms)"
        print(f"| {content} | {pct(0, med)} | {pct(0, p90)} | {paired} | {pct(1, med)} | {pct(2, med)} |")
    if problems:
        print()
        print("**Correctness checks failed:**")
        for p in problems:
            print(f"- {p}")
        return 1
    print()
    print(f"Checks passed: every commit answered 200; with scanning on, each of the {commits + warmups} leak commits "
          f"(warm-up included) answered with an X-HF-Warning naming the file, and no clean commit did; "
          "with scanning off, no commit did.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
