"""Accounts: search, the detail page, and exempt grants with their audit trail."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from tiergate.billing.models import Subscription
from tiergate.db import db, utcnow

from ..accounts.factories import make_account, subscribe
from ..catalog.helpers import snapshot
from .support import field_errors, submit, text


def rows_of(page: str) -> list[str]:
    """Return the account names linked from a list page, in order."""
    return re.findall(r'<a href="/admin/accounts/\d+">([^<]+)</a>', page)


def test_search_by_name_slug_member_email_and_provider_ids(staff, cast) -> None:
    globex = make_account("globex", owner="boss@globex.test")
    subscribe(globex, "pro", subscription_id="sub_globex_123", provider_customer_id="cus_globex")
    make_account("initech")

    assert rows_of(text(staff.get("/admin/accounts"))) == ["Acme", "Globex", "Initech"]
    assert rows_of(text(staff.get("/admin/accounts?q=INIT"))) == ["Initech"]
    assert rows_of(text(staff.get("/admin/accounts?q=glob"))) == ["Globex"]
    assert rows_of(text(staff.get("/admin/accounts?q=member@acme"))) == ["Acme"]
    assert rows_of(text(staff.get("/admin/accounts?q=sub_globex_123"))) == ["Globex"]
    assert rows_of(text(staff.get("/admin/accounts?q=cus_globex"))) == ["Globex"]
    # Wildcards are taken literally.
    assert rows_of(text(staff.get("/admin/accounts?q=%25"))) == []
    page = text(staff.get("/admin/accounts?q=nobody"))
    assert "No account matches “nobody”." in page


def test_account_detail_shows_members_subscriptions_entitlements(staff, cast) -> None:
    subscribe(cast.account, "pro", subscription_id="sub_acme_pro")
    page = text(staff.get(f"/admin/accounts/{cast.account.id}"))
    assert "<h1>Acme <code>acme</code></h1>" in page
    assert 'id="effective-tier">Pro <code>pro</code>' in page
    assert "3 used of 3" in page  # owner, admin, member on pro's three seats
    assert "<code>reports.export</code>" in page
    for email in cast.emails.values():
        if email.endswith("@acme.test"):
            assert email in page
    assert "sub_acme_pro" in page
    assert "subscription.created" in page  # the audit trail


def test_unknown_account_is_404(staff, cast) -> None:
    assert staff.get("/admin/accounts/999").status_code == 404


def grant_page(staff, account_id: int, **fields):
    url = f"/admin/accounts/{account_id}"
    return submit(staff, url, f"{url}/grant", **fields)


def test_grant_validation_errors_are_shown_next_to_their_field(staff, cast) -> None:
    before = snapshot()
    response = grant_page(staff, cast.account.id, tier="partner", reason="  ")
    assert response.status_code == 422
    assert field_errors(text(response)) == {
        "reason": ["a grant needs a reason (it is kept in the audit log)"]
    }
    response = grant_page(staff, cast.account.id, tier="pro", reason="Friend of the house")
    assert field_errors(text(response))["tier"][0].startswith("cannot grant 'pro'")
    assert "Friend of the house" in text(response)  # what was typed is kept
    past = (utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = grant_page(staff, cast.account.id, tier="partner", reason="x", expires_at=past)
    assert field_errors(text(response))["expires_at"][0].startswith("the grant would expire at")
    response = grant_page(staff, cast.account.id, tier="partner", reason="x", expires_at="soon")
    assert field_errors(text(response)) == {"expires_at": ["Not a valid datetime value."]}
    assert snapshot() == before


def test_grant_then_revoke_shows_in_the_account_audit_trail(staff, cast) -> None:
    expires = (utcnow() + timedelta(days=30)).replace(second=0, microsecond=0)
    response = grant_page(
        staff,
        cast.account.id,
        tier="partner",
        reason="Launch partner",
        expires_at=expires.strftime("%Y-%m-%dT%H:%M"),
    )
    assert response.status_code == 302, field_errors(text(response))

    page = text(staff.get(f"/admin/accounts/{cast.account.id}"))
    assert 'id="effective-tier">Partner <code>partner</code>' in page
    assert "Launch partner" in page
    assert expires.strftime("%Y-%m-%d %H:%M UTC") in page
    assert "subscription.granted" in page
    assert f"user: {cast.emails['staff']}" in page

    revoke_url = f"/admin/accounts/{cast.account.id}/revoke"
    confirm = staff.get(revoke_url)
    assert confirm.status_code == 200
    assert "Revoke the exempt grant of Acme?" in text(confirm)
    before = snapshot()
    response = submit(staff, revoke_url, reason="")
    assert response.status_code == 422
    assert field_errors(text(response)) == {"reason": ["a revocation needs a reason"]}
    assert snapshot() == before

    response = submit(staff, revoke_url, reason="Partnership ended")
    assert response.status_code == 302
    page = text(staff.get(f"/admin/accounts/{cast.account.id}"))
    assert 'id="effective-tier">Free <code>free</code>' in page
    assert "subscription.revoked" in page
    assert "Partnership ended" in page
    db.session.rollback()
    grant = db.session.scalar(sa.select(Subscription).where(Subscription.provider == "exempt"))
    assert grant is not None and grant.status == "canceled"


def test_a_grant_without_a_tier_says_to_choose_one(staff, cast) -> None:
    before = snapshot()
    response = grant_page(staff, cast.account.id, tier="", reason="Friend of the house")
    assert response.status_code == 422
    assert field_errors(text(response))["tier"] == [
        "Choose the tier to grant: nothing was granted."
    ]
    assert snapshot() == before
