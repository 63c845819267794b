"""Plans: every account starts free; operators move users to pro and organizations to enterprise (with seats) with
`hangar admin`, and `whoami-v2` answers as the Hub does (isPro, isEnterprise, the end of the monthly period)."""

from __future__ import annotations

import calendar
import subprocess
import time

import pytest

from access_helpers import new_org
from hangar_e2e import unique_name


def end_of_this_month_utc() -> int:
    now = time.gmtime()
    year, month = (now.tm_year + 1, 1) if now.tm_mon == 12 else (now.tm_year, now.tm_mon + 1)
    return calendar.timegm((year, month, 1, 0, 0, 0))


def admin_fails(server, *args) -> str:
    cmd = [str(server.binary), "admin", *args, *server._common_args()]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode != 0, result.stdout
    return result.stderr


def test_a_user_moves_to_pro_and_back(server, alice):
    me = alice.read_api.whoami()
    assert me["isPro"] is False and me["periodEnd"] is None

    out = server.admin("user", "set-plan", alice.name, "pro")
    assert "pro plan ($2.00 of monthly credits)" in out
    me = alice.read_api.whoami()
    assert me["isPro"] is True
    assert me["periodEnd"] == end_of_this_month_utc()

    server.admin("user", "set-plan", alice.name, "free")
    assert alice.read_api.whoami()["isPro"] is False


def test_an_organization_moves_to_enterprise_with_seats(server, alice):
    org = new_org(server, alice, unique_name("ent"))
    assert [o["isEnterprise"] for o in alice.read_api.whoami()["orgs"] if o["name"] == org] == [False]

    out = server.admin("org", "set-plan", org, "enterprise", "--seats", "5")
    assert "enterprise plan ($10.00 of monthly credits)" in out
    listed = [o for o in alice.read_api.whoami()["orgs"] if o["name"] == org]
    assert listed[0]["isEnterprise"] is True and listed[0]["periodEnd"] == end_of_this_month_utc()


def test_plans_that_do_not_fit_are_refused_with_a_reason(server, alice):
    org = new_org(server, alice, unique_name("misfit"))
    assert "enterprise plan is for organizations" in admin_fails(server, "user", "set-plan", alice.name, "enterprise")
    assert "pro plan is for users" in admin_fails(server, "org", "set-plan", org, "pro")
    assert "--seats" in admin_fails(server, "org", "set-plan", org, "enterprise")
    assert "Unknown plan 'gold'" in admin_fails(server, "user", "set-plan", alice.name, "gold")
    assert "no user named" in admin_fails(server, "user", "set-plan", unique_name("nobody"), "pro")
    assert alice.read_api.whoami()["isPro"] is False


@pytest.mark.parametrize("amounts", [{"HANGAR_PLAN_PRO_CREDITS": "5"}, {"HANGAR_PLAN_PRO_CREDITS": "0.25"}])
def test_plan_amounts_are_configurable(server, alice, monkeypatch, amounts):
    for k, v in amounts.items():
        monkeypatch.setenv(k, v)
    out = server.admin("user", "set-plan", alice.name, "pro")
    expected = {"5": "$5.00", "0.25": "$0.25"}[amounts["HANGAR_PLAN_PRO_CREDITS"]]
    assert f"({expected} of monthly credits)" in out
