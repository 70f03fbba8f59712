"""Limits in the admin console (audited), on /pricing and on /account."""

from __future__ import annotations

import sqlalchemy as sa

from tiergate.audit.models import AuditEvent
from tiergate.catalog.limits import tier_limits
from tiergate.catalog.models import Permission, SubscriptionTier
from tiergate.db import db
from tiergate.limits import report_count, track

from ..admin.support import submit, text
from ..browsing import log_in_with_form
from ..conftest import http_client
from .support import NOW, add_limits


def _ids(tier: str, permission: str) -> tuple[int, int]:
    tier_id = db.session.scalar(sa.select(SubscriptionTier.id).where(SubscriptionTier.key == tier))
    permission_id = db.session.scalar(sa.select(Permission.id).where(Permission.key == permission))
    assert tier_id is not None and permission_id is not None
    return tier_id, permission_id


def test_staff_set_a_limit_and_it_is_audited(console_app, cast, staff):
    add_limits()
    tier_id, permission_id = _ids("free", "projects")
    page = f"/admin/tiers/{tier_id}"
    assert 'name="limit"' in text(staff.get(page))
    action = f"/admin/tiers/{tier_id}/limits/{permission_id}"
    saved = submit(staff, page, action, limit="12")
    assert saved.status_code == 302
    db.session.rollback()
    assert tier_limits(tier_id)["projects"] == 12
    event = db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.action == "tier.limits_changed")
        .order_by(AuditEvent.id.desc())
    ).first()
    assert event is not None and event.target_id == str(tier_id)
    assert (event.before["limits"], event.after["limits"]) == ({"projects": 3}, {"projects": 12})
    assert "staff@tiergate.test" in (event.actor_label or "")


def test_a_bad_limit_is_refused_and_changes_nothing(console_app, cast, staff):
    add_limits()
    tier_id, permission_id = _ids("free", "projects")
    page = f"/admin/tiers/{tier_id}"
    refused = submit(staff, page, f"/admin/tiers/{tier_id}/limits/{permission_id}", limit="-4")
    assert refused.status_code == 302
    assert "must be a whole number" in text(staff.get(page))
    db.session.rollback()
    assert tier_limits(tier_id)["projects"] == 3


def test_pricing_shows_limits_in_words(console_app, cast):
    add_limits()
    page = text(http_client(console_app).get("/pricing"))
    assert "3 projects" in page and "100 API calls a month" in page
    assert "Unlimited projects" in page  # team


def test_account_shows_meters_with_warning_and_over_limit_advice(console_app, cast):
    add_limits()
    report_count(cast.account.id, "projects", 5, now=NOW)  # free allows 3: over
    track(cast.account.id, "api.calls", 85)  # 85 % of 100: a warning
    db.session.commit()
    client = http_client(console_app)
    log_in_with_form(client, cast.emails["owner"])
    page = text(client.get("/account"))
    assert 'data-permission="projects" data-level="full"' in page
    assert "remove 2 projects to get back within your plan, or upgrade to Pro" in page
    assert 'data-permission="api.calls" data-level="warning"' in page
    assert "85 % of this plan" in page
    assert "Resets " in page


def test_no_projects_link_where_the_demo_page_is_not_mounted(console_app, cast):
    from flask import render_template_string

    from tiergate.standalone.users import User

    owner = db.session.scalar(sa.select(User).where(User.email == cast.emails["owner"]))
    mounted = console_app.view_functions

    def has(endpoint: str) -> bool:  # this app without the demo's Projects page
        return endpoint in mounted and not endpoint.startswith("demo_projects.")

    page = '{% extends "tiergate/layout.html" %}'
    with console_app.test_request_context("/account"):
        signed_in = {"tiergate_user": lambda: owner}
        without = render_template_string(page, tiergate_has_endpoint=has, **signed_in)
        with_demo = render_template_string(page, **signed_in)
    assert ">Account</a>" in without and 'href="/projects"' not in without
    assert '<a href="/projects">Projects</a>' in with_demo
