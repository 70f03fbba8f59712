"""/account/settings: rename (owners), leave (not as the last owner), create, switch; audited."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tiergate.accounts.apikeys import API_KEY_NAME_MAX
from tiergate.accounts.models import Account, Membership
from tiergate.accounts.services import ACCOUNT_NAME_MAX
from tiergate.db import db
from tiergate.standalone.users import find_user

from ...browsing import log_in
from ..support import post_form, text
from .conftest import NAME, SLUG, audit_actions
from .reload import everything, post_and_reload

SETTINGS = f"/account/settings?account={SLUG}"
RENAME = f"/account/settings/name?account={SLUG}"
LEAVE = f"/account/settings/leave?account={SLUG}"
NEW = "/account/settings/new"
KEYS = f"/account/api-keys?account={SLUG}"


def account_named(slug: str) -> str:
    db.session.rollback()
    return db.session.scalars(sa.select(Account.name).where(Account.slug == slug)).one()


def roles_in(slug: str) -> dict[str, str]:
    db.session.rollback()
    rows = db.session.execute(
        sa.select(Membership.user_id, Membership.role)
        .join(Account, Account.id == Membership.account_id)
        .where(Account.slug == slug)
    )
    return {find_user_by_id(user_id): role for user_id, role in rows}


def find_user_by_id(user_id: int) -> str:
    from tiergate.standalone.users import User

    return db.session.get_one(User, user_id).email


def test_an_owner_renames_the_organisation(client, widgets) -> None:
    log_in(client, "owner@acme.test")
    shown, reloaded = post_and_reload(client, SETTINGS, RENAME, {"rename-name": " Acme Gadgets "})
    assert "The organisation is now called Acme Gadgets." in shown
    assert "Settings of Acme Gadgets" in reloaded
    assert account_named(SLUG) == "Acme Gadgets"  # the slug, used in links, stays
    assert audit_actions("account")[-1] == "account.updated"


def test_an_empty_name_is_refused_and_changes_nothing(client, widgets) -> None:
    log_in(client, "owner@acme.test")
    before = everything()
    response = post_form(client, SETTINGS, RENAME, {"rename-name": "   "})
    assert response.status_code == 422
    assert "Enter the organisation&#39;s name." in response.get_data(as_text=True)
    assert everything() == before


def test_only_an_owner_renames(client, widgets) -> None:
    for email in ("admin@acme.test", "member@acme.test"):
        log_in(client, email)
        page = text(client.get(SETTINGS))
        assert "Only an owner can rename the organisation." in page and ">Rename<" not in page
        before = everything()
        response = post_form(client, SETTINGS, RENAME, {"rename-name": "Taken Over"})
        assert response.status_code == 403
        assert everything() == before
    assert account_named(SLUG) == NAME


def test_a_member_leaves_and_the_seat_is_freed(client, widgets) -> None:
    log_in(client, "member@acme.test")
    # Once left, the organisation is not theirs: its pages are 404 to them, as to anyone.
    shown, _ = post_and_reload(client, LEAVE, LEAVE, opens=(404,))
    assert f"You left {NAME}." in shown
    assert "member@acme.test" not in roles_in(SLUG)
    assert audit_actions("membership")[-1] == "membership.deleted"
    assert client.get(f"/account?account={SLUG}").status_code == 404  # no longer theirs


def test_the_last_owner_cannot_leave(client, widgets) -> None:
    log_in(client, "owner@acme.test")
    before = everything()
    response = post_form(client, LEAVE, LEAVE)
    assert response.status_code == 422
    assert f"You are the last owner of {NAME}: make another member owner before you leave" in text(
        response
    )
    assert everything() == before
    assert roles_in(SLUG)["owner@acme.test"] == "owner"


def test_an_owner_leaves_once_another_owner_exists(client, widgets) -> None:
    db.session.execute(
        sa.update(Membership)
        .where(Membership.user_id == find_user("admin@acme.test").id)
        .values(role="owner")
    )
    db.session.commit()
    log_in(client, "owner@acme.test")
    post_and_reload(client, LEAVE, LEAVE, opens=(404,))
    assert roles_in(SLUG) == {"admin@acme.test": "owner", "member@acme.test": "member"}


def test_creating_another_organisation_and_switching(client, widgets) -> None:
    log_in(client, "member@acme.test")
    shown, _ = post_and_reload(client, SETTINGS, NEW, {"new-name": "Acme Widgets"})
    # Its own slug: a name may repeat, a link never points at someone else's organisation.
    assert "Acme Widgets is created: you are its owner." in shown
    db.session.rollback()
    mine = db.session.scalars(sa.select(Account).order_by(Account.id.desc())).first()
    assert (mine.name, mine.slug) == (NAME, f"{SLUG}-2")
    assert roles_in(mine.slug) == {"member@acme.test": "owner"}
    assert audit_actions("account")[-1] == "account.created"
    page = text(client.get("/account/settings"))
    assert "Your organisations" in page
    assert f'href="/account?account={SLUG}">{NAME}</a> <small>(member)' in page
    # Switching: the page of the other organisation is remembered for the next pages.
    client.get(f"/account?account={SLUG}")
    assert "You are a member of this account." in text(client.get("/account"))


def test_a_user_without_an_organisation_creates_one(client, widgets) -> None:
    from ..support import make_user

    make_user("solo@example.com")
    db.session.commit()
    log_in(client, "solo@example.com")
    assert "Create another organisation" in text(client.get("/account/settings"))
    shown, _ = post_and_reload(client, "/account/settings", NEW, {"new-name": "Solo Studio"})
    assert "Solo Studio is created" in shown
    assert roles_in("solo-studio") == {"solo@example.com": "owner"}


@pytest.mark.parametrize(
    ("page", "action", "field", "limit", "message"),
    [
        (SETTINGS, RENAME, "rename-name", ACCOUNT_NAME_MAX, "A name has at most"),
        (SETTINGS, NEW, "new-name", ACCOUNT_NAME_MAX, "A name has at most"),
        (KEYS, KEYS, "name", API_KEY_NAME_MAX, "A key's name has at most"),
    ],
)
def test_a_name_one_character_too_long_is_refused(
    client, widgets, page, action, field, limit, message
) -> None:
    """The forms check the services' own limits (one number each), before any change."""
    log_in(client, "owner@acme.test")
    before = everything()
    refused = post_form(client, page, action, {field: "x" * (limit + 1)})
    assert refused.status_code == 422
    assert f"{message} {limit} characters." in text(refused)
    assert everything() == before
