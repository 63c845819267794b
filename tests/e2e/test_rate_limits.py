"""Hub rate limits: three buckets (API, resolvers, pages), fixed windows, limits by plan (anonymous callers per
address), the headers the official client parses, and 429 with Retry-After past the limit, after which the client
waits for the window to end and succeeds. Each test runs its own server (the session server's limits are raised)."""

from __future__ import annotations

import re

import pytest
from huggingface_hub import HfApi

from access_helpers import new_org
from cli_helpers import Proxy
from conftest import User
from hangar_e2e import HangarServer, database_url, free_port, hangar_bin, http


@pytest.fixture
def limited_server(tmp_path):
    servers = []

    def start(**env: str) -> HangarServer:
        srv = HangarServer(hangar_bin(), tmp_path / f"data{len(servers)}", free_port(), database_url(), tmp_path / f"server{len(servers)}.log", env=env)
        srv.start()
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.stop()


def policy(resp) -> tuple[str, int, int]:
    m = re.fullmatch(r'"fixed window";"(\w+)";q=(\d+);w=(\d+)', resp.headers["ratelimit-policy"])
    assert m, resp.headers
    return m.group(1), int(m.group(2)), int(m.group(3))


def remaining(resp) -> tuple[str, int, int]:
    m = re.fullmatch(r'"(\w+)";r=(\d+);t=(\d+)', resp.headers["ratelimit"])
    assert m, resp.headers
    return m.group(1), int(m.group(2)), int(m.group(3))


def test_each_bucket_and_plan_gets_the_hubs_limits(limited_server):
    srv = limited_server()
    alice = User(srv, "alice-rl")
    alice.api.create_repo("alice-rl/m")
    # Anonymous callers, per address: 500 API, 3000 resolver and 100 page requests in five minutes.
    api = http("GET", f"{srv.endpoint}/api/models")
    assert policy(api) == ("api", 500, 300)
    bucket, left, reset = remaining(api)
    assert bucket == "api" and left < 500 and 0 < reset <= 300
    assert policy(http("HEAD", f"{srv.endpoint}/alice-rl/m/resolve/main/.gitattributes")) == ("resolvers", 3000, 300)
    assert policy(http("GET", f"{srv.endpoint}/alice-rl/m")) == ("pages", 100, 300)
    # Static files and the health check are not counted.
    assert "ratelimit" not in http("GET", f"{srv.endpoint}/api/health").headers

    # A free account: 1000 API requests; each request counts once.
    first = remaining(http("GET", f"{srv.endpoint}/api/whoami-v2", token=alice.read_token))[1]
    second = http("GET", f"{srv.endpoint}/api/whoami-v2", token=alice.read_token)
    assert policy(second) == ("api", 1000, 300) and remaining(second)[1] == first - 1

    # PRO, and members of an enterprise organization (after the one-minute cache of who a token is).
    bob = User(srv, "bob-rl")
    srv.admin("user", "set-plan", bob.name, "pro")
    assert policy(http("GET", f"{srv.endpoint}/api/whoami-v2", token=bob.read_token)) == ("api", 2500, 300)
    carol = User(srv, "carol-rl")
    org = new_org(srv, carol, "ent-rl")
    srv.admin("org", "set-plan", org, "enterprise", "--seats", "3")
    assert policy(http("GET", f"{srv.endpoint}/api/whoami-v2", token=carol.read_token)) == ("api", 6000, 300)


def test_past_the_limit_429_says_when_and_other_callers_are_not_affected(limited_server):
    srv = limited_server(HANGAR_RATE_LIMIT_WINDOW_SECS="60", HANGAR_RATE_LIMIT_FREE="3/1000/1000")
    alice, bob = User(srv, "alice-rl2"), User(srv, "bob-rl2")
    url = f"{srv.endpoint}/api/whoami-v2"
    statuses = [http("GET", url, token=alice.read_token).status for _ in range(3)]
    assert statuses == [200, 200, 200]
    refused = http("GET", url, token=alice.read_token)
    assert refused.status == 429
    bucket, left, reset = remaining(refused)
    assert (bucket, left) == ("api", 0) and 0 < reset <= 60
    assert int(refused.headers["retry-after"]) == reset
    assert "rate limit" in refused.json()["error"]
    # Another account, and another bucket of the same account, are counted apart.
    assert http("GET", url, token=bob.read_token).status == 200
    assert http("GET", f"{srv.endpoint}/alice-rl2/nothing/resolve/main/x", token=alice.read_token).status != 429


def test_the_official_client_waits_for_the_window_and_then_succeeds(limited_server):
    srv = limited_server(HANGAR_RATE_LIMIT_WINDOW_SECS="4", HANGAR_RATE_LIMIT_FREE="2/1000/1000")
    alice = User(srv, "alice-rl3")
    proxy = Proxy(srv.endpoint)
    try:
        api = HfApi(endpoint=proxy.endpoint, token=alice.read_token)
        # Listing through the client's backoff: requests past the limit get 429, the client sleeps until the window
        # ends (the `t` of the RateLimit header, plus one second) and tries again.
        for _ in range(4):
            assert list(api.list_models(author="alice-rl3")) == []
        statuses = [status for method, path, status in proxy.answers if path.startswith("/api/models")]
        assert 429 in statuses, statuses
        assert statuses[-1] == 200
    finally:
        proxy.close()
