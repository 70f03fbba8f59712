"""Every change to tiers, permissions, grants, subscriptions, memberships, invitations is logged."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tiergate.accounts.seats import (
    accept_invitation,
    begin_write_transaction,
    invite_member,
    remove_member,
    revoke_invitation,
)
from tiergate.audit.listeners import acting_as
from tiergate.audit.models import AuditEvent
from tiergate.audit.services import Actor
from tiergate.catalog import services as catalog
from tiergate.db import db

from ..accounts.factories import NOW, SYSTEM, make_account, make_catalog, make_user, subscribe


def events(target_type: str | None = None) -> list[AuditEvent]:
    query = sa.select(AuditEvent).order_by(AuditEvent.id)
    if target_type:
        query = query.where(AuditEvent.target_type == target_type)
    return list(db.session.scalars(query))


def test_tier_lifecycle_is_logged_with_the_acting_user(app):
    staff = make_user("admin@tiergate.test", staff=True)
    db.session.commit()
    with acting_as(Actor.user(staff)):
        tier = catalog.create_tier("gold", "Gold", rank=5, user_limit=4)
        catalog.update_tier("gold", name="Gold plus")
        catalog.delete_tier("gold")
    db.session.commit()
    created, updated, deleted = events("tier")
    assert [e.action for e in (created, updated, deleted)] == [
        "tier.created",
        "tier.updated",
        "tier.deleted",
    ]
    assert {e.target_id for e in (created, updated, deleted)} == {str(tier.id)}
    assert created.before is None and created.after["user_limit"] == 4
    assert (updated.before["name"], updated.after["name"]) == ("Gold", "Gold plus")
    assert deleted.before["name"] == "Gold plus" and deleted.after is None
    assert {(e.actor_type, e.actor_id) for e in (created, updated, deleted)} == {
        ("user", str(staff.id))
    }


def test_permission_links_are_logged_on_the_tier(app):
    catalog.create_tier("gold", "Gold")
    catalog.create_permission("reports.export", "Export")
    db.session.commit()
    catalog.grant_permission("gold", "reports.export")
    db.session.commit()
    catalog.revoke_permission("gold", "reports.export")
    db.session.commit()
    granted, revoked = [e for e in events("tier") if e.action == "tier.updated"]
    assert (granted.before["permissions"], granted.after["permissions"]) == ([], ["reports.export"])
    assert (revoked.before["permissions"], revoked.after["permissions"]) == (["reports.export"], [])
    assert granted.actor_type == "system"


def test_permission_lifecycle_is_logged(app):
    catalog.create_permission("reports.export", "Export")
    catalog.update_permission("reports.export", name="Export reports")
    catalog.delete_permission("reports.export")
    db.session.commit()
    assert [e.action for e in events("permission")] == [
        "permission.created",
        "permission.updated",
        "permission.deleted",
    ]


def test_an_unchanged_save_logs_nothing(app):
    catalog.create_tier("gold", "Gold")
    db.session.commit()
    count = len(events())
    catalog.update_tier("gold", name="Gold")
    db.session.commit()
    assert len(events()) == count


def test_seat_changes_are_logged(app):
    make_catalog()
    account = make_account("acme", owner="owner@acme.test")
    subscribe(account, "team")
    member = make_user("new@acme.test")
    db.session.commit()
    begin_write_transaction()
    _, token = invite_member(account, "new@acme.test", actor=SYSTEM, now=NOW)
    second, _ = invite_member(account, "other@acme.test", actor=SYSTEM, now=NOW)
    db.session.commit()
    membership = accept_invitation(token, member, actor=Actor.user(member), now=NOW)
    db.session.commit()
    begin_write_transaction()
    revoke_invitation(second, actor=SYSTEM, now=NOW)
    remove_member(membership, actor=SYSTEM)
    db.session.commit()
    actions = [e.action for e in events() if e.target_type in ("membership", "invitation")]
    assert actions == [
        "membership.created",  # the owner, with the account
        "invitation.created",
        "invitation.created",
        "invitation.accepted",
        "membership.created",
        "invitation.revoked",
        "membership.deleted",
    ]
    accepted = next(e for e in events() if e.action == "invitation.accepted")
    assert accepted.before["accepted_at"] is None and accepted.after["accepted_at"]
    assert (accepted.actor_type, accepted.actor_id) == ("user", str(member.id))


def test_audit_events_cannot_be_changed_or_deleted(app):
    catalog.create_tier("gold", "Gold")
    db.session.commit()
    event = events()[0]
    event.action = "tier.forged"
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()
    db.session.delete(events()[0])
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
