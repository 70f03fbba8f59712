"""An invitation address with markup is refused on the members page, naming the problem."""

from __future__ import annotations

from ...browsing import log_in
from ..support import post_form, text
from .conftest import SLUG
from .reload import everything

MEMBERS = f"/account/members?account={SLUG}"


def test_markup_in_an_address_is_refused_with_a_clear_message(client, widgets) -> None:
    log_in(client, "owner@acme.test")
    before = everything()
    response = post_form(
        client, MEMBERS, MEMBERS, {"email": "<b>x</b>@example.com", "role": "member"}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "“&lt;b&gt;x&lt;/b&gt;@example.com” is not a valid e-mail address" in page
    assert "<b>x</b>" not in page  # shown as typed, never as markup
    assert everything() == before


def test_an_address_already_in_the_team_names_the_organisation(client, widgets) -> None:
    log_in(client, "owner@acme.test")
    response = post_form(client, MEMBERS, MEMBERS, {"email": "member@acme.test", "role": "member"})
    assert response.status_code == 409
    assert "member@acme.test is already a member of Acme Widgets" in text(response)
    assert "acme-widgets&#39;" not in response.get_data(as_text=True)
