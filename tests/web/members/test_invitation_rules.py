"""The members page and the invitation page: owner invitations, invitations of members."""

from __future__ import annotations

from tiergate.accounts.models import Invitation, Membership
from tiergate.accounts.seats import invite_member
from tiergate.db import db

from ...accounts.factories import SYSTEM
from ...browsing import csrf_token, log_in
from ..support import make_user, post_form, text
from .team import PAGE, team_state


def _invitation(account, email: str, role: str = "member") -> tuple[Invitation, str]:
    invitation, token = invite_member(account, email, role=role, actor=SYSTEM)
    db.session.commit()
    return invitation, token


def test_an_admin_cannot_revoke_or_renew_an_owner_invitation(client, acme) -> None:
    boss, _ = _invitation(acme, "boss@acme.test", "owner")
    helper, _ = _invitation(acme, "helper@acme.test")
    before = team_state()
    log_in(client, "admin@acme.test")
    page = text(client.get(PAGE))
    assert f"/account/invitations/{boss.id}/revoke" not in page
    assert f"/account/invitations/{boss.id}/resend" not in page
    assert f"/account/invitations/{helper.id}/revoke" in page
    assert "Only an owner can change an owner's invitation." in page
    url = f"/account/invitations/{boss.id}/revoke"
    assert client.get(url).status_code == 403
    refused = post_form(client, PAGE, url)
    assert refused.status_code == 403
    assert "Only an owner" in text(refused)
    assert team_state() == before


def test_an_owner_revokes_an_owner_invitation(client, acme) -> None:
    boss, _ = _invitation(acme, "boss@acme.test", "owner")
    log_in(client, "owner@acme.test")
    assert f"/account/invitations/{boss.id}/revoke" in text(client.get(PAGE))
    assert post_form(client, PAGE, f"/account/invitations/{boss.id}/revoke").status_code == 303
    db.session.rollback()
    assert db.session.get(Invitation, boss.id).revoked_at is not None


def test_accepting_as_a_member_is_refused_and_frees_the_seat(client, acme) -> None:
    invitation, token = _invitation(acme, "late@acme.test")
    user = make_user("late@acme.test")
    db.session.add(Membership(account_id=acme.id, user_id=user.id, role="member"))
    db.session.commit()
    log_in(client, "late@acme.test")
    page = client.get(f"/invitations/{token}")
    response = client.post(
        f"/invitations/{token}", data={"csrf_token": csrf_token(page.get_data(as_text=True))}
    )
    assert response.status_code == 409
    assert "already a member of" in text(response)
    db.session.rollback()
    assert db.session.get(Invitation, invitation.id).revoked_at is not None
    log_in(client, "owner@acme.test")
    assert "4 of 10 seats used" in text(client.get(PAGE))
