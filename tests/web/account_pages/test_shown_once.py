"""A new key or invitation link is kept on the server for one showing, never in the cookie."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa
from flask.testing import FlaskClient

from tiergate.accounts.models import ShownOnce
from tiergate.accounts.shown_once import SHOWN_ONCE_FOR, keep_shown_once, take_shown_once
from tiergate.db import db, utcnow
from tiergate.standalone.users import find_user

from ...browsing import log_in
from ..support import make_account, post_form
from .conftest import SLUG

KEYS = f"/account/api-keys?account={SLUG}"
MEMBERS = f"/account/members?account={SLUG}"
SECRET = re.compile(r'id="new-api-key" [^>]*value="(tg_[^"]+)"')
LINK = re.compile(r'id="invite-link" [^>]*value="([^"]+)"')


def session_text(client: FlaskClient) -> str:
    """Return the decoded session cookie (signed, not encrypted: anyone can read it)."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    app = client.application
    return str(app.session_interface.get_signing_serializer(app).loads(cookie.value))


def entries() -> list[ShownOnce]:
    db.session.rollback()  # see what the requests committed
    return list(db.session.scalars(sa.select(ShownOnce)))


def test_the_secret_is_not_in_the_cookie_and_the_page_is_not_cached(client, widgets) -> None:
    log_in(client, "owner@acme.test")
    created = post_form(client, KEYS, KEYS, {"name": "ci"})
    assert created.status_code == 303
    [entry] = entries()
    assert entry.secret.startswith("tg_") and entry.secret not in session_text(client)
    shown = client.get(created.headers["Location"])
    assert SECRET.search(shown.get_data(as_text=True)).group(1) == entry.secret
    assert shown.headers["Cache-Control"] == "no-store"
    reloaded = client.get(created.headers["Location"])
    assert SECRET.search(reloaded.get_data(as_text=True)) is None  # a reload shows nothing
    assert entries() == []


def test_an_invitation_link_shows_no_store_and_leaves_no_trace(client, widgets) -> None:
    log_in(client, "owner@acme.test")
    invited = post_form(client, MEMBERS, MEMBERS, {"email": "new@acme.test", "role": "member"})
    [entry] = entries()
    assert "/invitations/" in entry.secret and entry.secret not in session_text(client)
    shown = client.get(invited.headers["Location"])
    assert LINK.search(shown.get_data(as_text=True)).group(1) == entry.secret
    assert shown.headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get(MEMBERS).headers.get("Cache-Control", "")
    token = entry.secret.rsplit("/invitations/", 1)[1]
    assert client.get(f"/invitations/{token}").headers["Cache-Control"] == "no-store"


def test_another_user_of_the_account_in_the_same_browser_sees_nothing(client, widgets) -> None:
    log_in(client, "owner@acme.test")
    invited = post_form(client, MEMBERS, MEMBERS, {"email": "new@acme.test", "role": "member"})
    [entry] = entries()
    secret = entry.secret
    log_in(client, "admin@acme.test")  # the same browser, someone else signed in
    page = client.get(invited.headers["Location"]).get_data(as_text=True)
    assert LINK.search(page) is None and secret not in page
    assert entries() == []  # the handle was read: the secret is gone
    log_in(client, "owner@acme.test")
    assert LINK.search(client.get(MEMBERS).get_data(as_text=True)) is None


def test_another_account_and_an_expired_entry_show_nothing(widgets) -> None:
    owner = find_user("owner@acme.test")
    other = make_account("third-co", owner="owner@third.test")
    kept = {"user_id": owner.id, "subject_id": 1, "secret": "tg_secret"}
    handle = keep_shown_once("api_key", account_id=widgets.id, **kept)
    assert take_shown_once(handle, "api_key", user_id=owner.id, account_id=other.id) is None
    assert take_shown_once(handle, "api_key", user_id=owner.id, account_id=widgets.id) is None
    now = utcnow()
    old = keep_shown_once("api_key", account_id=widgets.id, now=now - SHOWN_ONCE_FOR, **kept)
    late = now + timedelta(seconds=1)
    assert (
        take_shown_once(old, "api_key", user_id=owner.id, account_id=widgets.id, now=late) is None
    )
    fresh = keep_shown_once("api_key", account_id=widgets.id, **kept)
    assert take_shown_once(fresh, "invitation", user_id=owner.id, account_id=widgets.id) is None
    shown = take_shown_once(fresh, "api_key", user_id=owner.id, account_id=widgets.id)
    assert shown is not None and shown.secret == "tg_secret" and shown.subject_id == 1
    assert take_shown_once(fresh, "api_key", user_id=owner.id, account_id=widgets.id) is None


def test_writing_an_entry_deletes_the_expired_ones(widgets) -> None:
    owner = find_user("owner@acme.test")
    kept = {"user_id": owner.id, "account_id": widgets.id, "subject_id": 1, "secret": "s"}
    keep_shown_once("invitation", now=utcnow() - SHOWN_ONCE_FOR - timedelta(seconds=1), **kept)
    keep_shown_once("invitation", now=utcnow() - timedelta(minutes=1), **kept)
    assert len(db.session.scalars(sa.select(ShownOnce)).all()) == 2
    keep_shown_once("invitation", **kept)
    ages = [utcnow() - entry.created_at for entry in db.session.scalars(sa.select(ShownOnce))]
    assert len(ages) == 2 and all(age < SHOWN_ONCE_FOR for age in ages)
