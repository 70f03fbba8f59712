"""``@require_permission``, ``can()`` and ``current_entitlements`` in real views."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from flask import Blueprint, Flask, render_template_string, request
from flask.testing import FlaskClient

from tiergate.accounts.apikeys import create_api_key
from tiergate.accounts.models import Membership
from tiergate.db import db, utcnow
from tiergate.entitlements.decorators import require_permission
from tiergate.entitlements.services import get_cache

from ..accounts.factories import DAY, SYSTEM, make_account, make_catalog, make_user, subscribe
from ..browsing import log_in
from ..conftest import http_client

PAGE = """{{ current_entitlements.tier_key }}:
{%- for key in ["reports.view", "reports.export", "audit.read", "sso", "nope"] %}
{{ key }}={{ "yes" if can(key) else "no" }}{% endfor %}"""

reports = Blueprint("reports_for_tests", __name__)


@reports.get("/reports/export")
@require_permission("reports.export")
def export() -> str:
    return render_template_string(PAGE)


@reports.get("/accounts/<int:account_id>/reports")
@require_permission("reports.export")
def account_reports(account_id: int) -> str:
    return render_template_string(PAGE)


@reports.get("/reports/typo")
@require_permission("reports.exprot")
def typo() -> str:
    return "never"


@pytest.fixture
def site(app: Flask) -> Flask:
    app.register_blueprint(reports)
    make_catalog()
    return app


def browser_of(app: Flask, email: str) -> FlaskClient:
    client = http_client(app)
    db.session.rollback()
    from tiergate.standalone.users import find_user

    log_in(client, find_user(email))
    return client


JSON = {"Accept": "application/json"}


def test_anonymous_visitors_are_sent_to_log_in_or_get_401(site: Flask) -> None:
    client = http_client(site)
    page = client.get("/reports/export")
    assert page.status_code == 302 and "/login?next=" in page.headers["Location"]
    api = client.get("/reports/export", headers=JSON)
    assert api.status_code == 401 and api.get_json()["error"] == "unauthorized"


def test_html_denial_explains_and_links_to_the_upgrade(site: Flask) -> None:
    make_account("acme", owner="owner@acme.test")  # free tier
    response = browser_of(site, "owner@acme.test").get("/reports/export")
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "Your plan, Free, does not include Reports Export." in page
    assert 'data-reason="not_in_tier"' in page
    assert 'class="button upgrade-link" href="/pricing#tier-pro">Upgrade to Pro</a>' in page


def test_json_denial_has_the_error_shape_with_reason_and_upgrade(site: Flask) -> None:
    make_account("acme", owner="owner@acme.test")
    response = browser_of(site, "owner@acme.test").get("/reports/export", headers=JSON)
    assert response.status_code == 403
    body = response.get_json()
    assert body["error"] == "permission_denied" and body["message"]
    assert body["reason"] == "not_in_tier" and body["permission"] == "reports.export"
    assert body["upgrade_to"] == ["pro", "team", "enterprise"]


def test_a_lapsed_subscription_gives_its_own_reason(site: Flask) -> None:
    account = make_account("acme", owner="owner@acme.test")
    subscribe(account, "pro", status="past_due", period_end=utcnow() - 30 * DAY)
    response = browser_of(site, "owner@acme.test").get("/reports/export")
    assert response.status_code == 403
    assert "grace period has ended" in response.get_data(as_text=True)


def test_allowed_views_run_and_templates_ask_can(site: Flask) -> None:
    account = make_account("acme", owner="owner@acme.test")
    subscribe(account, "pro")
    response = browser_of(site, "owner@acme.test").get("/reports/export")
    assert response.status_code == 200
    assert response.get_data(as_text=True).split() == [
        "pro:",
        "reports.view=yes",
        "reports.export=yes",
        "audit.read=no",
        "sso=no",
        "nope=no",
    ]


def test_an_account_key_acts_for_its_account(site: Flask) -> None:
    account = make_account("acme")
    subscribe(account, "team")
    _, token = create_api_key("ci", account=account, actor=SYSTEM)
    db.session.commit()
    response = http_client(site).get(
        "/reports/export", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200 and "audit.read=yes" in response.get_data(as_text=True)
    revoked = http_client(site).get("/reports/export", headers={"Authorization": "Bearer tg_x"})
    assert revoked.status_code == 401


def test_an_application_views_own_account_id_is_not_taken_for_the_account(site: Flask) -> None:
    acme = make_account("acme", owner="owner@acme.test")
    other = make_account("other", owner="boss@other.test")
    subscribe(acme, "pro")
    client = browser_of(site, "owner@acme.test")
    # The view's account_id means something of the application's: the caller's own account
    # (acme, on pro) is decided, whatever the number.
    page = client.get(f"/accounts/{other.id}/reports")
    assert page.status_code == 200 and page.get_data(as_text=True).startswith("pro:")


def test_an_application_rule_names_the_account_and_it_must_be_the_callers(site: Flask) -> None:
    site.extensions["tiergate"].account_for_request = lambda: request.view_args.get("account_id")
    acme = make_account("acme", owner="owner@acme.test")
    other = make_account("other", owner="boss@other.test")
    subscribe(acme, "pro")
    subscribe(other, "pro")
    client = browser_of(site, "owner@acme.test")
    assert client.get(f"/accounts/{acme.id}/reports").status_code == 200
    assert client.get(f"/accounts/{other.id}/reports").status_code == 404
    assert client.get("/accounts/999999/reports").status_code == 404


def test_a_user_without_an_account_is_told_so(site: Flask) -> None:
    make_user("loner@example.test")
    db.session.commit()
    response = browser_of(site, "loner@example.test").get("/reports/export", headers=JSON)
    assert response.status_code == 403 and response.get_json()["reason"] == "no_account"


def test_a_misspelt_permission_is_denied_as_unknown(site: Flask) -> None:
    account = make_account("acme", owner="owner@acme.test")
    subscribe(account, "enterprise", provider="whop")
    response = browser_of(site, "owner@acme.test").get("/reports/typo", headers=JSON)
    assert response.status_code == 403 and response.get_json()["reason"] == "unknown_permission"


@contextmanager
def statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)


def test_entitlements_are_computed_once_per_request(site: Flask) -> None:
    account = make_account("acme", owner="owner@acme.test")
    subscribe(account, "pro")
    client = browser_of(site, "owner@acme.test")
    cache = get_cache()
    cache.invalidate(catalog=True)
    # The process cache re-reads its version counters on every lookup: only the per-request
    # memo keeps the page's checks from reading the database again.
    cache.recheck_seconds = 0
    computed = cache.computations
    with statements() as cold:
        assert client.get("/reports/export").status_code == 200  # 1 check + 5 can()
    assert cache.computations == computed + 1
    # One check and five can() calls: no statement runs twice within the request.
    assert len(cold) == len(set(cold)), [q for q in cold if cold.count(q) > 1]
    assert len([q for q in cold if re.search(r"\bFROM tiergate_subscription\s", q)]) == 1
    with statements() as warm:
        assert client.get("/reports/export").status_code == 200
    assert cache.computations == computed + 1
    assert not [q for q in warm if re.search(r"\bFROM (subscription|invitation)\s", q)]


def test_a_membership_change_is_seen_by_the_next_request(site: Flask) -> None:
    acme = make_account("acme", owner="owner@acme.test")
    subscribe(acme, "pro")
    guest = make_user("guest@example.test")
    db.session.commit()
    client = browser_of(site, "guest@example.test")
    assert client.get("/reports/export", headers=JSON).get_json()["reason"] == "no_account"
    db.session.add(Membership(account_id=acme.id, user_id=guest.id, role="member"))
    db.session.commit()
    assert client.get("/reports/export").status_code == 200


def test_answers_do_not_leak_into_the_next_request_on_a_reused_app_context(site: Flask) -> None:
    # The plain test client reuses the fixture's app context (and its g) for every request.
    team = make_account("team-co")
    subscribe(team, "team")
    free = make_account("free-co")
    _, team_token = create_api_key("t", account=team, actor=SYSTEM)
    _, free_token = create_api_key("f", account=free, actor=SYSTEM)
    db.session.commit()
    client = site.test_client()
    first = client.get("/reports/export", headers={"Authorization": f"Bearer {team_token}"})
    assert first.status_code == 200
    second = client.get("/reports/export", headers={"Authorization": f"Bearer {free_token}"})
    assert second.status_code == 403
