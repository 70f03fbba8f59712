"""Log-out ends every way back in: the session and the "keep me logged in" cookie."""

from __future__ import annotations

from flask import Flask

from ..accounts.factories import PASSWORD, make_account
from ..browsing import csrf_token_of
from ..conftest import http_client
from .support import post_form


def test_log_out_deletes_the_remember_cookie_and_the_next_request_is_anonymous(
    app: Flask, catalog: None
):
    make_account("acme", owner="owner@acme.test")
    browser = http_client(app)
    data = {"email": "owner@acme.test", "password": PASSWORD, "remember": "y"}
    assert post_form(browser, "/login", data).status_code == 302
    assert browser.get_cookie("remember_token") is not None
    token = csrf_token_of(browser, "/pricing")
    response = browser.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302
    deleted = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("remember_token=")]
    assert deleted and "Expires=Thu, 01 Jan 1970" in deleted[0]
    assert browser.get_cookie("remember_token") is None
    page = browser.get("/pricing").get_data(as_text=True)
    assert "Log out" not in page
    # Still anonymous on the request after that: nothing logged the user back in.
    assert "Log out" not in browser.get("/pricing").get_data(as_text=True)
