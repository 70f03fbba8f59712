"""/account/members: seats, invitations, roles, removal; who may change what."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tiergate.accounts.models import Invitation, Membership
from tiergate.accounts.seats import find_invitation, invite_member
from tiergate.accounts.services import find_user
from tiergate.audit.models import AuditEvent
from tiergate.db import db, utcnow

from ..accounts.factories import SYSTEM, make_catalog, subscribe
from ..browsing import csrf_token, log_in
from .support import make_account, make_user, page_token, post_form, text

PAGE = "/account/members?account=acme"


@pytest.fixture
def acme(app):
    """Acme on Team (10 seats): an owner, an admin and a member; Other owned elsewhere."""
    make_catalog()
    account = make_account("acme", owner="owner@acme.test")
    subscribe(account, "team", period_end=utcnow() + timedelta(days=30), updated_at=utcnow())
    for email, role in (("admin@acme.test", "admin"), ("member@acme.test", "member")):
        user = make_user(email)
        db.session.add(Membership(account_id=account.id, user_id=user.id, role=role))
    make_account("other", owner="owner@other.test")
    make_user("staff@tiergate.test", staff=True)
    db.session.commit()
    return account


def membership_of(email: str) -> Membership:
    db.session.rollback()  # see what the requests committed
    user = find_user(email)
    return db.session.scalars(sa.select(Membership).where(Membership.user_id == user.id)).one()


def team_state() -> list[tuple]:
    """Every membership and invitation, to show that a refused request changed nothing."""
    db.session.rollback()
    members = db.session.execute(
        sa.select(Membership.id, Membership.user_id, Membership.role).order_by(Membership.id)
    ).all()
    invitations = db.session.execute(
        sa.select(
            Invitation.id, Invitation.token_hash, Invitation.expires_at, Invitation.revoked_at
        ).order_by(Invitation.id)
    ).all()
    return [*members, *invitations]


def invite(client, email: str, role: str = "member"):
    return post_form(client, PAGE, PAGE, {"email": email, "role": role})


def change_role(client, membership_id: int, role: str):
    token = csrf_token(client.get(PAGE).get_data(as_text=True))
    prefix = f"member-{membership_id}-"
    data = {prefix + "csrf_token": token, prefix + "role": role}
    return client.post(f"/account/members/{membership_id}/role", data=data)


def field_errors(response, field_id: str) -> list[str]:
    """Return the messages shown next to the field ``field_id``."""
    body = text(response)
    found = re.search(rf'<ul class="field-errors" id="{field_id}-errors">(.*?)</ul>', body)
    return re.findall(r"<li>(.*?)</li>", found.group(1)) if found else []


def downgrade_to_pro(account) -> None:
    """End Acme's Team subscription and subscribe it to Pro (3 seats)."""
    later = utcnow() + timedelta(days=30)
    subscribe(account, "team", status="canceled", updated_at=utcnow(), period_end=later)
    subscribe(account, "pro", updated_at=utcnow(), period_end=later)


def pending_invitation(account) -> Invitation:
    invitation, _ = invite_member(account, "pending@acme.test", actor=SYSTEM)
    db.session.commit()
    return invitation


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
    assert 'max="3"' in meter and 'value="4"' in meter and "seats-over" in meter
    assert "style=" not in body and "<script" not in body
    assert 'data-reason="over_limit"' in body and "Pro allows 3" in body
    assert "Every seat is taken." in body and "Upgrade to Team" in body
    assert body.count("Change role") == 3  # the owner manages everyone


def test_invite_shows_the_one_time_link_until_the_seat_limit(client, acme) -> None:
    downgrade_to_pro(acme)
    db.session.delete(membership_of("member@acme.test"))
    db.session.commit()
    log_in(client, "owner@acme.test")
    response = invite(client, "new@acme.test", "admin")
    assert response.status_code == 201
    body = text(response)
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
    assert response.status_code == 200
    link = re.search(r'id="invite-link" [^>]*value="([^"]+)"', text(response)).group(1)
    new_token = link.rsplit("/invitations/", 1)[1]
    assert new_token != old_token
    assert client.get(f"/invitations/{old_token}").status_code == 404
    assert client.get(f"/invitations/{new_token}").status_code == 200


def test_members_see_the_team_read_only(client, acme) -> None:
    pending_invitation(acme)
    log_in(client, "member@acme.test")
    response = client.get(PAGE)
    assert response.status_code == 200
    body = text(response)
    assert "owner@acme.test" in body and "pending@acme.test" in body
    assert "Only an owner or an admin can invite people or change members." in body
    for control in ("Change role", "Remove…", "Revoke…", "New link", "Create invitation"):
        assert control not in body


PAGES = ("/account/members?account=acme", "/account?account=acme")


def actions() -> list[tuple[str, str, dict]]:
    """Every page and change on Acme's team: (method, url, form data)."""
    owner, member = membership_of("owner@acme.test"), membership_of("member@acme.test")
    invitation = db.session.scalars(sa.select(Invitation)).one()
    return [
        *(("GET", page, {}) for page in PAGES),
        ("POST", "/account/members?account=acme", {"email": "x@acme.test", "role": "member"}),
        ("POST", f"/account/members/{member.id}/role", {f"member-{member.id}-role": "admin"}),
        ("POST", f"/account/members/{owner.id}/role", {f"member-{owner.id}-role": "member"}),
        ("GET", f"/account/members/{member.id}/remove", {}),
        ("POST", f"/account/members/{member.id}/remove", {}),
        ("POST", f"/account/invitations/{invitation.id}/resend", {}),
        ("GET", f"/account/invitations/{invitation.id}/revoke", {}),
        ("POST", f"/account/invitations/{invitation.id}/revoke", {}),
    ]


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        (None, "login"),
        ("member@acme.test", "read-only"),
        ("owner@other.test", "not-found"),
        ("staff@tiergate.test", "not-found"),
    ],
)
def test_authorization_matrix(client, acme, who, expected) -> None:
    """Anonymous: log in first; a member: reads only; anyone outside Acme: 404; nothing changes."""
    pending_invitation(acme)
    if who:
        log_in(client, who)
    token = page_token(client)
    before = team_state()
    for method, url, data in actions():
        if method == "GET":
            response = client.get(url)
        else:
            response = client.post(url, data={"csrf_token": token, **data})
        if expected == "login":
            assert response.status_code == 302, url
            assert response.headers["Location"].startswith("/login"), url
        elif expected == "not-found":
            assert response.status_code == 404, (method, url)
        elif method == "GET" and url in PAGES:
            assert response.status_code == 200, url
        else:
            assert response.status_code == 403, (method, url)
            assert "Only an owner" in text(response), url
    assert team_state() == before


def test_owners_and_admins_may_change(client, acme) -> None:
    for email in ("owner@acme.test", "admin@acme.test"):
        member = membership_of("member@acme.test")
        client.post(
            "/logout",
            data={"csrf_token": page_token(client)},
        )
        log_in(client, email)
        target = "admin" if member.role == "member" else "member"
        assert change_role(client, member.id, target).status_code == 303
        assert membership_of("member@acme.test").role == target
