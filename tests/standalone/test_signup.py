"""Sign-up refuses common passwords and does not tell who is registered."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask

from tiergate.accounts.models import Account
from tiergate.db import db
from tiergate.standalone.users import User, find_user, verify_password

from ..accounts.factories import PASSWORD, make_user
from ..conftest import http_client
from .support import count, post_form

SIGNUP = {
    "email": "ada@example.test",
    "display_name": "Ada",
    "account_name": "Analytical Engines",
    "password": "difference engine",
    "confirm": "difference engine",
}


@pytest.mark.parametrize(
    "password", ["password", "12345678", "qwertyuiop", "iloveyou", "Password1", "PASSWORD"]
)
def test_a_common_password_is_refused_with_a_clear_message(
    app: Flask, catalog: None, password: str
):
    data = {**SIGNUP, "password": password, "confirm": password}
    response = post_form(http_client(app), "/signup", data)
    assert response.status_code == 422
    assert "too common" in response.get_data(as_text=True)
    assert count(User) == count(Account) == 0


def test_the_common_password_list_ships_with_the_package():
    from tiergate.standalone.passwords import is_common_password

    assert is_common_password("letmein1") and is_common_password("  Qwerty123 ")
    assert not is_common_password("difference engine")


def _sign_up(app: Flask, data: dict[str, str]) -> tuple[int, str | None, str]:
    browser = http_client(app)
    response = post_form(browser, "/signup", data)
    followed = browser.get(response.headers.get("Location", "/signup"))
    return response.status_code, response.headers.get("Location"), followed.get_data(as_text=True)


def test_sign_up_answers_the_same_whether_or_not_the_address_is_registered(
    app: Flask, catalog: None
):
    make_user("taken@example.test")
    db.session.commit()
    new = _sign_up(app, SIGNUP)
    taken = _sign_up(app, {**SIGNUP, "email": "Taken@Example.test"})
    assert taken[:2] == new[:2] == (302, "/login")
    # The pages differ only by their CSRF token.
    assert taken[2].split("csrf_token")[0] == new[2].split("csrf_token")[0]
    assert "already" not in taken[2]
    # Nothing was created or changed for the registered address.
    db.session.rollback()
    assert count(User) == 2 and count(Account) == 1
    existing = find_user("taken@example.test")
    assert existing is not None and verify_password(existing, PASSWORD)
    slugs = set(db.session.scalars(sa.select(Account.slug)))
    assert slugs == {"analytical-engines"}


def test_the_new_user_logs_in_with_the_chosen_password(app: Flask, catalog: None):
    browser = http_client(app)
    assert post_form(browser, "/signup", SIGNUP).status_code == 302
    data = {"email": SIGNUP["email"], "password": SIGNUP["password"]}
    assert post_form(browser, "/login", data).status_code == 302
    assert "Log out" in browser.get("/pricing").get_data(as_text=True)
