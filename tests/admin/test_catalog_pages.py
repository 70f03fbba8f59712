"""Tier and permission pages: lists, grants, integration problems, confirmed deletes."""

from __future__ import annotations

import sqlalchemy as sa

from tiergate.audit.models import AuditEvent
from tiergate.catalog.models import Permission, SubscriptionTier
from tiergate.db import db

from ..accounts.factories import subscribe
from ..catalog.helpers import snapshot
from .support import submit, text


def tier_id(key: str) -> int:
    db.session.rollback()
    found = db.session.scalar(sa.select(SubscriptionTier.id).where(SubscriptionTier.key == key))
    assert found is not None
    return found


def permission_id(key: str) -> int:
    found = db.session.scalar(sa.select(Permission.id).where(Permission.key == key))
    assert found is not None
    return found


def grants(key: str) -> list[str]:
    db.session.rollback()
    tier = db.session.scalar(sa.select(SubscriptionTier).where(SubscriptionTier.key == key))
    assert tier is not None
    return [permission.key for permission in tier.permissions]


def test_tier_list_shows_rank_order_integration_and_permissions(staff, cast) -> None:
    db.session.execute(
        sa.update(SubscriptionTier)
        .where(SubscriptionTier.key == "team")
        .values(stripe_lookup_key=None)  # a broken integration, as a bad import could leave it
    )
    db.session.commit()
    page = text(staff.get("/admin/tiers"))
    order = [page.index(f"<code>{key}</code>") for key in ("free", "pro", "team", "partner")]
    assert order == sorted(order)
    assert "invalid: a Stripe tier needs a stripe_lookup_key" in page
    assert page.count("invalid:") == 1
    assert '<span class="tag">default</span>' in page
    detail = text(staff.get(f"/admin/tiers/{tier_id('team')}"))
    assert "Integration invalid: a Stripe tier needs a stripe_lookup_key" in detail
    assert "Integration valid" in text(staff.get(f"/admin/tiers/{tier_id('pro')}"))


def test_a_tier_grants_and_stops_granting_a_permission(staff, cast) -> None:
    url = f"/admin/tiers/{tier_id('free')}"
    assert grants("free") == ["reports.view"]
    response = submit(staff, url, f"{url}/permissions", permission="sso")
    assert response.status_code == 302
    assert grants("free") == ["reports.view", "sso"]
    response = submit(staff, url, f"{url}/permissions/{permission_id('sso')}/revoke")
    assert response.status_code == 302
    assert grants("free") == ["reports.view"]
    changes = db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.action == "tier.updated", AuditEvent.actor_type == "user")
        .order_by(AuditEvent.id)
    ).all()
    assert [(e.actor_label, e.after["permissions"]) for e in changes] == [
        (cast.emails["staff"], ["reports.view", "sso"]),
        (cast.emails["staff"], ["reports.view"]),
    ]


def test_deleting_a_tier_asks_first(staff, cast) -> None:
    url = f"/admin/tiers/{tier_id('partner')}/delete"
    before = snapshot()
    page = staff.get(url)
    assert page.status_code == 200
    assert "Delete tier Partner?" in text(page)
    assert snapshot() == before  # the GET only asks
    response = submit(staff, url)
    assert response.status_code == 302
    db.session.rollback()
    assert (
        db.session.scalar(sa.select(SubscriptionTier).where(SubscriptionTier.key == "partner"))
        is None
    )
    deleted = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "tier.deleted"))
    assert deleted is not None and deleted.actor_label == cast.emails["staff"]


def test_the_default_tier_and_a_subscribed_tier_are_not_deleted(staff, cast) -> None:
    subscribe(cast.account, "pro")
    before = snapshot()
    response = submit(staff, f"/admin/tiers/{tier_id('free')}/delete")
    assert response.status_code == 409
    assert "is the default tier" in text(response)
    response = submit(staff, f"/admin/tiers/{tier_id('pro')}/delete")
    assert response.status_code == 409
    assert "has 1 subscription (current or past)" in text(response)
    assert snapshot() == before


def test_permission_list_shows_granting_tiers_and_delete_asks_first(staff, cast) -> None:
    page = text(staff.get("/admin/permissions"))
    sso_row = page[page.index("<code>sso</code>") :].split("</tr>")[0]
    assert ">enterprise</a>" in sso_row and ">staff</a>" in sso_row and ">pro</a>" not in sso_row
    url = f"/admin/permissions/{permission_id('sso')}"
    assert "Granted by:" in text(staff.get(url))
    confirm = text(staff.get(f"{url}/delete"))
    assert "It is granted by enterprise, staff; those tiers will stop granting it." in confirm
    response = submit(staff, f"{url}/delete")
    assert response.status_code == 302
    assert "sso" not in grants("enterprise")
    assert db.session.scalar(sa.select(Permission).where(Permission.key == "sso")) is None


def test_a_permission_is_renamed(staff, cast) -> None:
    url = f"/admin/permissions/{permission_id('audit.read')}"
    response = submit(staff, url, key="audit.view", name="Read the audit log", description="")
    assert response.status_code == 302
    db.session.rollback()
    renamed = db.session.scalar(sa.select(Permission).where(Permission.key == "audit.view"))
    assert renamed is not None and renamed.name == "Read the audit log"


def test_unknown_tier_and_permission_are_404(staff, cast) -> None:
    for url in ("/admin/tiers/999", "/admin/tiers/999/delete", "/admin/permissions/999"):
        assert staff.get(url).status_code == 404, url


def test_tier_list_tags_yearly_prices_trials_seats_and_add_ons(staff, cast) -> None:
    from tiergate.catalog import services as catalog

    catalog.update_tier("pro", stripe_yearly_lookup_key="pro_yearly", trial_days=14)
    catalog.update_tier("team", per_seat=True, is_addon=True)
    db.session.commit()
    page = text(staff.get("/admin/tiers"))
    pro = page[page.index("<code>pro</code>") : page.index("<code>team</code>")]
    assert (
        '<span class="tag">yearly</span>' in pro and '<span class="tag">14-day trial</span>' in pro
    )
    team = page[page.index("<code>team</code>") :]
    team = team[: team.index("</tr>")]
    assert '<span class="tag">per seat</span>' in team and '<span class="tag">add-on</span>' in team
    assert "yearly" not in team
