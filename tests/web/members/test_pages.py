"""/account/members: seats, invitations, roles, removal (who may do what: test_access.py)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from tiergate.accounts.models import Invitation, Membership
from tiergate.accounts.seats import find_invitation, invite_member
from tiergate.audit.models import AuditEvent
from tiergate.db import db

from ...accounts.factories import SYSTEM
from ...browsing import csrf_token, log_in
from ..support import post_form, text
from .team import (
    PAGE,
    change_role,
    downgrade_to_pro,
    field_errors,
    invite,
    membership_of,
    pending_invitation,
    team_state,
)


def gauge_region(meter: str) -> str:
    """Return the region a browser paints a <meter> in (HTML's gauge regions, as Chromium).

    "optimum" is green, "suboptimal" yellow, "even-less-good" red.
    """
    attrs = {name: float(value) for name, value in re.findall(r'(\w+)="([\d.]+)"', meter)}
    low_end, high_end = attrs.get("min", 0.0), attrs.get("max", 1.0)
    value = min(max(attrs["value"], low_end), high_end)
    low = min(max(attrs.get("low", low_end), low_end), high_end)
    high = min(max(attrs.get("high", high_end), low), high_end)
    optimum = min(max(attrs.get("optimum", (low_end + high_end) / 2), low_end), high_end)
    if optimum < low:
        return "optimum" if value <= low else "suboptimal" if value <= high else "even-less-good"
    if optimum > high:
        return "optimum" if value >= high else "suboptimal" if value >= low else "even-less-good"
    return "optimum" if low <= value <= high else "suboptimal"


@pytest.mark.parametrize(
    ("meter", "region"),
    [
        # The old over-limit markup: the value clamps to max = high, so it never read red.
        ('<meter min="0" max="3" low="2" high="3" optimum="0" value="4">', "suboptimal"),
        ('<meter min="0" max="1" low="0" high="1" optimum="0" value="3">', "optimum"),
        ('<meter min="0" max="5" low="4" high="5" optimum="0" value="2">', "optimum"),
    ],
)
def test_gauge_regions_follow_the_html_rules(meter: str, region: str) -> None:
    assert gauge_region(meter) == region


def test_members_page_lists_the_team_and_seats(client, acme) -> None:
    pending_invitation(acme)
    downgrade_to_pro(acme)  # now 4 seats taken of 3
    log_in(client, "owner@acme.test")
    response = client.get(PAGE)
    assert response.status_code == 200
    body = text(response)
    for email in ("owner@acme.test", "admin@acme.test", "member@acme.test", "pending@acme.test"):
        assert email in body
    assert "4 of 3 seats used" in body
    meter = re.search(r"<meter [^>]*>", body).group(0)
    assert 'value="4"' in meter and "seats-over" in meter
    assert gauge_region(meter) == "even-less-good"  # painted red, not green or yellow
    assert "style=" not in body
    # Scripts only from the package's files (the CSP forbids inline ones).
    assert re.findall(r"<script[^>]*>", body) == ['<script src="/assets/copy.js" defer>']
    assert 'data-reason="over_limit"' in body and "Pro allows 3" in body
    assert "Every seat is taken." in body and "Upgrade to Team" in body
    assert body.count("Change role") == 3  # the owner manages everyone


def test_invite_shows_the_one_time_link_until_the_seat_limit(client, acme) -> None:
    downgrade_to_pro(acme)
    db.session.delete(membership_of("member@acme.test"))
    db.session.commit()
    log_in(client, "owner@acme.test")
    response = invite(client, "new@acme.test", "admin")
    assert response.status_code == 303  # post/redirect/get: a reload sends nothing again
    body = text(client.get(response.headers["Location"]))
    assert "No e-mail is sent: copy this link" in body
    link = re.search(r'id="invite-link" [^>]*value="([^"]+)"', body).group(1)
    token = link.rsplit("/invitations/", 1)[1]
    db.session.rollback()  # see what the request committed
    invitation = find_invitation(token)
    assert (invitation.email, invitation.role) == ("new@acme.test", "admin")
    assert client.get(f"/invitations/{token}").status_code == 200

    refused = invite(client, "one-more@acme.test")
    assert refused.status_code == 409
    body = text(refused)
    assert 'data-reason="seat_limit_reached"' in body
    assert "Seat limit reached." in body and "Pro allows 3 seats" in body
    assert "Team</a> (10 users)" in body and "Enterprise</a> (50 users)" in body
    assert 'href="/pricing#tier-team">Upgrade to Team</a>' in body
    assert 'value="one-more@acme.test"' in body  # what was typed is kept
    db.session.rollback()
    assert (
        db.session.scalar(sa.select(Invitation).where(Invitation.email == "one-more@acme.test"))
        is None
    )


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"email": "", "role": "member"}, "email", "Enter the e-mail address to invite."),
        ({"email": "not-an-address", "role": "member"}, "email", "is not a valid e-mail address"),
        ({"email": "admin@acme.test", "role": "member"}, "email", "is already a member of"),
        ({"email": "ok@acme.test", "role": "emperor"}, "role", "Not a valid choice."),
    ],
)
def test_invite_errors_are_shown_next_to_the_field(client, acme, data, field, message) -> None:
    db.session.delete(membership_of("member@acme.test"))
    db.session.commit()
    before = team_state()
    log_in(client, "owner@acme.test")
    response = invite(client, data["email"], data["role"])
    assert response.status_code in (409, 422)
    errors = field_errors(response, field)
    assert errors and message in " ".join(errors)
    if data["email"]:
        assert f'value="{data["email"]}"' in text(response)
    assert team_state() == before


def test_an_admin_cannot_invite_an_owner(client, acme) -> None:
    db.session.delete(membership_of("member@acme.test"))
    db.session.commit()
    before = team_state()
    log_in(client, "admin@acme.test")
    page = text(client.get(PAGE))
    assert '<option value="owner">' not in page
    response = invite(client, "boss@acme.test", "owner")
    assert response.status_code == 422
    assert field_errors(response, "role") == ["Not a valid choice."]
    assert team_state() == before


def test_owner_changes_a_role(client, acme) -> None:
    member = membership_of("member@acme.test")
    log_in(client, "owner@acme.test")
    response = change_role(client, member.id, "admin")
    assert response.status_code == 303
    assert membership_of("member@acme.test").role == "admin"
    assert "member@acme.test is now admin." in text(client.get(PAGE))
    actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert "membership.updated" in actions


@pytest.mark.parametrize(
    ("actor", "target", "role", "message"),
    [
        ("owner@acme.test", "member@acme.test", "emperor", "Not a valid choice."),
        ("owner@acme.test", "owner@acme.test", "member", "the last owner cannot become"),
        ("admin@acme.test", "member@acme.test", "owner", "Not a valid choice."),
    ],
)
def test_role_errors_are_shown_next_to_the_row(client, acme, actor, target, role, message) -> None:
    membership = membership_of(target)
    before = team_state()
    log_in(client, actor)
    response = change_role(client, membership.id, role)
    assert response.status_code in (403, 422)
    assert message in " ".join(field_errors(response, f"member-{membership.id}-role"))
    assert team_state() == before


def test_an_admin_cannot_touch_an_owner(client, acme) -> None:
    owner = membership_of("owner@acme.test")
    before = team_state()
    log_in(client, "admin@acme.test")
    page = text(client.get(PAGE))
    assert "Only an owner can change an owner." in page
    refused = change_role(client, owner.id, "member")
    assert refused.status_code == 403
    assert "Only an owner can change or remove another owner." in text(refused)
    assert post_form(client, PAGE, f"/account/members/{owner.id}/remove").status_code == 403
    assert team_state() == before


def test_remove_asks_to_confirm_then_frees_the_seat(client, acme) -> None:
    member_id = membership_of("member@acme.test").id
    log_in(client, "owner@acme.test")
    confirm = client.get(f"/account/members/{member_id}/remove")
    assert confirm.status_code == 200
    assert "will lose access to Acme" in text(confirm)
    db.session.rollback()
    assert db.session.get(Membership, member_id) is not None  # nothing removed by looking
    url = f"/account/members/{member_id}/remove"
    done = client.post(url, data={"csrf_token": csrf_token(confirm.get_data(as_text=True))})
    assert done.status_code == 303
    db.session.rollback()
    assert db.session.get(Membership, member_id) is None
    assert "2 of 10 seats used" in text(client.get(PAGE))


def test_the_last_owner_cannot_be_removed(client, acme) -> None:
    owner = membership_of("owner@acme.test")
    log_in(client, "owner@acme.test")
    response = post_form(client, PAGE, f"/account/members/{owner.id}/remove")
    assert response.status_code == 422
    assert "The last owner of an account cannot be removed." in text(response)
    db.session.rollback()
    assert db.session.get(Membership, owner.id) is not None


def test_revoke_asks_to_confirm_then_frees_the_seat(client, acme) -> None:
    invitation = pending_invitation(acme)
    log_in(client, "admin@acme.test")
    url = f"/account/invitations/{invitation.id}/revoke"
    confirm = client.get(url)
    assert confirm.status_code == 200 and "pending@acme.test" in text(confirm)
    db.session.rollback()
    assert db.session.get(Invitation, invitation.id).revoked_at is None
    done = client.post(url, data={"csrf_token": csrf_token(confirm.get_data(as_text=True))})
    assert done.status_code == 303
    db.session.rollback()
    assert db.session.get(Invitation, invitation.id).revoked_at is not None
    body = text(client.get(PAGE))
    assert "The invitation for pending@acme.test was revoked." in body
    assert "3 of 10 seats used" in body


def test_new_link_replaces_the_old_one(client, acme) -> None:
    db.session.delete(membership_of("member@acme.test"))
    db.session.commit()
    invitation, old_token = invite_member(acme, "late@acme.test", actor=SYSTEM)
    db.session.commit()
    log_in(client, "owner@acme.test")
    response = post_form(client, PAGE, f"/account/invitations/{invitation.id}/resend")
    assert response.status_code == 303
    shown = client.get(response.headers["Location"])
    link = re.search(r'id="invite-link" [^>]*value="([^"]+)"', text(shown)).group(1)
    new_token = link.rsplit("/invitations/", 1)[1]
    assert new_token != old_token
    assert client.get(f"/invitations/{old_token}").status_code == 404
    assert client.get(f"/invitations/{new_token}").status_code == 200
