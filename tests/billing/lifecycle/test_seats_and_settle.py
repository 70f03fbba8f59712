"""Per-seat quantity follows the seats; `tiergate billing settle` fixes what a crash left."""

from __future__ import annotations

import sqlalchemy as sa

from tiergate.accounts.models import Invitation
from tiergate.catalog.models import SubscriptionTier
from tiergate.db import db

from ...web.support import post_form
from .support import (
    buy,
    live,
    only,
    renewing,
    sandbox_objects,
    stripe_subscription,
    subscription_updates,
    text,
)

MEMBERS = "/account/members?account=acme"


def per_seat_team() -> None:
    db.session.execute(
        sa.update(SubscriptionTier).where(SubscriptionTier.key == "team").values(per_seat=True)
    )
    db.session.commit()


def quantity_at_stripe(subscription_id: str) -> int:
    return int(stripe_subscription(subscription_id)["items"]["data"][0]["quantity"])


def test_the_quantity_follows_the_seats_taken_and_freed(browser, acme) -> None:
    per_seat_team()
    buy(browser, "team")
    team = only(renewing(acme))
    assert quantity_at_stripe(team.provider_subscription_id) == 1
    for email in ("one@acme.test", "two@acme.test"):
        response = post_form(browser, MEMBERS, MEMBERS, {"email": email, "role": "member"})
        assert response.status_code == 303, text(response)
    assert quantity_at_stripe(team.provider_subscription_id) == 3
    assert only(live(acme)).quantity == 3
    db.session.rollback()
    invitation = db.session.scalars(
        sa.select(Invitation).where(Invitation.email == "two@acme.test")
    ).one()
    revoke = f"/account/invitations/{invitation.id}/revoke?account=acme"
    response = post_form(browser, revoke, revoke)
    assert response.status_code in (302, 303), text(response)
    assert quantity_at_stripe(team.provider_subscription_id) == 2
    updates = subscription_updates(team.provider_subscription_id)
    assert [u["items"][0]["quantity"] for u in updates] == ["2", "3", "2"]
    assert {u["proration_behavior"] for u in updates} == {"create_prorations"}


def test_a_tier_that_is_not_per_seat_keeps_its_quantity(browser, acme) -> None:
    buy(browser, "team")
    team = only(renewing(acme))
    response = post_form(browser, MEMBERS, MEMBERS, {"email": "one@acme.test", "role": "member"})
    assert response.status_code == 303
    assert quantity_at_stripe(team.provider_subscription_id) == 1
    assert subscription_updates(team.provider_subscription_id) == []


def test_settle_ends_a_switch_a_crash_left_half_done(sandbox_app, browser, acme) -> None:
    # As if the process died between the purchase's commit and settling it.
    sandbox_app.config["TIERGATE_SETTLE_AFTER_COMMIT"] = False
    buy(browser, "pro")
    pro = only(renewing(acme))
    buy(browser, "enterprise")  # a switch: its checkout names the plan it replaces
    assert len(renewing(acme)) == 2
    (membership,) = sandbox_objects("whop", "membership")
    assert membership["metadata"]["tiergate_replaces"] == f"stripe:{pro.provider_subscription_id}"
    runner = sandbox_app.test_cli_runner()
    result = runner.invoke(args=["billing", "settle"])
    assert result.exit_code == 0, result.output
    assert pro.provider_subscription_id in result.output and "1 settled" in result.output
    whop = only(renewing(acme))
    old = next(s for s in live(acme) if s.id == pro.id)
    assert whop.provider == "whop" and old.cancel_at_period_end and old.successor_id == whop.id
    assert [
        u["cancel_at_period_end"] for u in subscription_updates(pro.provider_subscription_id)
    ] == ["true"]
    again = runner.invoke(args=["billing", "settle"])
    assert again.exit_code == 0 and "nothing to settle" in again.output
