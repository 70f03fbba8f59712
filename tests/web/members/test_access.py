"""/account/members and /account: who may see and change the team; refusals change nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tiergate.accounts.models import Invitation
from tiergate.db import db

from ...browsing import log_in
from ..support import page_token, text
from .team import (
    PAGE,
    change_role,
    membership_of,
    pending_invitation,
    team_state,
)


def test_members_see_the_team_read_only(client, acme) -> None:
    pending_invitation(acme)
    log_in(client, "member@acme.test")
    response = client.get(PAGE)
    assert response.status_code == 200
    body = text(response)
    assert "owner@acme.test" in body and "admin@acme.test" in body
    assert "Only an owner or an admin can invite people or change members." in body
    # Invitations are the managers' business: a member sees neither them nor their links.
    assert "pending@acme.test" not in body and "Pending invitations" not in body
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
        elif expected == "not-found" and url.endswith("/remove"):
            # As for an id that does not exist (see test_no_membership_id_oracle).
            assert response.status_code == 303, (method, url)
            assert response.headers["Location"] == "/account/members", url
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
        client.post("/logout", data={"csrf_token": page_token(client)}).close()
        db.session.rollback()  # end this test's read of the memberships before logging in
        log_in(client, email)
        target = "admin" if member.role == "member" else "member"
        assert change_role(client, member.id, target).status_code == 303
        assert membership_of("member@acme.test").role == target


def test_no_membership_id_oracle(client, acme) -> None:
    """Another account's membership id answers as an id that does not exist."""
    member = membership_of("member@acme.test")
    log_in(client, "owner@other.test")
    token = page_token(client)
    before = team_state()
    for action in ("remove", "role"):
        answers = []
        for membership_id in (member.id, 999_999):
            url = f"/account/members/{membership_id}/{action}"
            for response in (client.get(url), client.post(url, data={"csrf_token": token})):
                after = text(client.get(response.location)) if response.location else ""
                gone = "This person is no longer a member." in after
                answers.append((response.status_code, response.location, gone))
        assert answers[:2] == answers[2:], action
    assert team_state() == before
