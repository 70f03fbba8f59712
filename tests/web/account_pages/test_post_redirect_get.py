"""Every state-changing account page: post, redirect, get; reloads change nothing."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from tiergate.accounts.models import Invitation, Membership
from tiergate.accounts.seats import find_invitation, invite_member
from tiergate.db import db
from tiergate.standalone.users import find_user

from ...accounts.factories import SYSTEM
from ...browsing import csrf_token, log_in
from ..support import make_user, text
from .conftest import SLUG
from .reload import everything, post_and_reload

MEMBERS = f"/account/members?account={SLUG}"
LINK = re.compile(r'id="invite-link" [^>]*value="([^"]+)"')


def membership(email: str) -> Membership:
    db.session.rollback()
    user = find_user(email)
    return db.session.scalars(sa.select(Membership).where(Membership.user_id == user.id)).one()


def test_an_invitation_link_is_shown_once_after_the_redirect(client, widgets) -> None:
    log_in(client, "owner@acme.test")
    shown, reloaded = post_and_reload(
        client, MEMBERS, MEMBERS, {"email": "new@acme.test", "role": "member"}
    )
    link = LINK.search(shown).group(1)
    assert 'data-copy="invite-link"' in shown and "Copy</button>" in shown
    assert LINK.search(reloaded) is None  # the link is not kept after its one showing
    assert "new@acme.test" in reloaded  # the invitation is listed as pending
    token = link.rsplit("/invitations/", 1)[1]
    assert find_invitation(token).email == "new@acme.test"
    assert client.get(f"/invitations/{token}").status_code == 200  # the link shown still works


def test_a_new_link_survives_a_reload(client, widgets) -> None:
    invitation, old_token = invite_member(widgets, "late@acme.test", actor=SYSTEM)
    db.session.commit()
    log_in(client, "owner@acme.test")
    action = f"/account/invitations/{invitation.id}/resend"
    shown, reloaded = post_and_reload(client, MEMBERS, action)
    token = LINK.search(shown).group(1).rsplit("/invitations/", 1)[1]
    assert token != old_token and LINK.search(reloaded) is None
    # Opening the resend address (what a reload used to post again) makes no new token.
    assert client.get(f"/invitations/{token}").status_code == 200
    assert client.get(f"/invitations/{old_token}").status_code == 404


def test_a_full_team_reload_is_not_a_seat_limit_error(client, widgets) -> None:
    """Pro has 5 seats: the invitation that takes the last one, then a reload."""
    make_user("extra@acme.test")
    db.session.add(
        Membership(account_id=widgets.id, user_id=find_user("extra@acme.test").id, role="member")
    )
    db.session.commit()
    log_in(client, "owner@acme.test")
    shown, reloaded = post_and_reload(
        client, MEMBERS, MEMBERS, {"email": "last@acme.test", "role": "member"}
    )
    assert LINK.search(shown) is not None
    assert "Seat limit reached." not in reloaded and "Every seat is taken." in reloaded


def test_role_change_and_removal_redirect(client, widgets) -> None:
    log_in(client, "owner@acme.test")
    member = membership("member@acme.test")
    action = f"/account/members/{member.id}/role"
    token = csrf_token(client.get(MEMBERS).get_data(as_text=True))
    before = everything()
    prefix = f"member-{member.id}-"
    response = client.post(action, data={prefix + "csrf_token": token, prefix + "role": "admin"})
    assert response.status_code == 303
    assert "member@acme.test is now admin." in text(client.get(response.headers["Location"]))
    after = everything()
    assert after != before
    assert client.get(action).status_code == 303  # not a bare 405
    assert everything() == after
    remove = f"/account/members/{member.id}/remove"
    shown, _ = post_and_reload(client, remove, remove)
    assert "member@acme.test was removed from Acme Widgets." in shown


def test_revoking_an_invitation_redirects(client, widgets) -> None:
    invitation, _ = invite_member(widgets, "gone@acme.test", actor=SYSTEM)
    db.session.commit()
    log_in(client, "owner@acme.test")
    revoke = f"/account/invitations/{invitation.id}/revoke"
    shown, reloaded = post_and_reload(client, revoke, revoke)
    assert "The invitation for gone@acme.test was revoked." in shown
    assert "gone@acme.test" not in reloaded
    db.session.rollback()
    assert db.session.get(Invitation, invitation.id).revoked_at is not None


@pytest.mark.parametrize(
    ("url", "lands_on"),
    [
        ("/billing/checkout/team", "/pricing"),
        ("/billing/manage", "/account"),
        ("/billing/license-key", "/account"),
        ("/billing/subscriptions/1/cancel", "/account"),
        ("/billing/subscriptions/1/resume", "/account"),
        ("/billing/subscriptions/1/manage", "/account"),
        ("/account/members/1/role", "/account/members"),
        ("/account/invitations/1/resend", "/account/members"),
        ("/account/settings/name", "/account/settings"),
        ("/account/settings/new", "/account/settings"),
    ],
)
def test_a_form_address_opened_with_get_leads_to_its_page(client, widgets, url, lands_on) -> None:
    log_in(client, "owner@acme.test")
    before = everything()
    response = client.get(url)
    assert response.status_code == 303, url
    assert response.headers["Location"] == lands_on
    assert client.get(lands_on).status_code == 200
    # HEAD skips CSRF: it must redirect as GET does and never run the form's action.
    head = client.head(url)
    assert head.status_code == 303, url
    assert head.headers["Location"] == lands_on
    assert everything() == before
    kept = client.get(f"{url}?account={SLUG}")
    assert kept.headers["Location"] == f"{lands_on}?account={SLUG}"


@pytest.mark.parametrize(
    ("url", "lands_on"),
    [
        ("/admin/accounts/{account}/grant", "/admin/accounts/{account}"),
        ("/admin/tiers/{tier}/permissions", "/admin/tiers/{tier}"),
        ("/admin/tiers/{tier}/permissions/1/revoke", "/admin/tiers/{tier}"),
    ],
)
def test_a_console_form_address_opened_with_get_leads_to_its_page(
    client, widgets, url, lands_on
) -> None:
    make_user("staff@tiergate.test", staff=True)
    db.session.commit()
    log_in(client, "staff@tiergate.test")
    ids = {"account": widgets.id, "tier": 1}
    before = everything()
    response = client.get(url.format(**ids))
    assert response.status_code == 303
    assert response.headers["Location"] == lands_on.format(**ids)
    assert client.get(response.headers["Location"]).status_code == 200
    assert everything() == before
