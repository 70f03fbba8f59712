import re

import sqlalchemy as sa

from tiergate.catalog import Permission, SubscriptionTier
from tiergate.db import db


def add_tier(key, rank, permissions=(), **fields):
    tier = SubscriptionTier(key=key, name=fields.pop("name", key.title()), rank=rank, **fields)
    tier.permissions = list(permissions)
    db.session.add(tier)
    return tier


def add_permissions(*keys):
    permissions = [Permission(key=key, name=f"Can {key}") for key in keys]
    db.session.add_all(permissions)
    return permissions


def tier_names_in_order(html):
    return re.findall(r'<h2 id="tier-[^"]+">([^<]+)</h2>', html)


def test_empty_catalog_explains_how_to_load_one(client):
    response = client.get("/pricing")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "No tiers yet" in html
    assert "tiergate catalog load --demo" in html
    assert tier_names_in_order(html) == []


def test_pricing_lists_customer_facing_tiers_in_rank_order(client):
    export, seats, support = add_permissions("reports.export", "members.invite", "support")
    add_tier("team", 20, [export, seats], name="Team", user_limit=5, fallback_price="$49")
    add_tier("free", 0, [], name="Free", description="Try it out.", fallback_price="$0")
    add_tier("pro", 10, [export], name="Pro", fallback_price="$19")
    add_tier("staff", 5, [export, seats, support], name="Staff Only", is_customer_facing=False)
    db.session.commit()

    html = client.get("/pricing").get_data(as_text=True)

    assert tier_names_in_order(html) == ["Free", "Pro", "Team"]
    assert "Staff Only" not in html
    assert "Can support" not in html  # granted only by the hidden tier
    team = html[html.index('id="tier-team"') :]
    assert "$49" in team
    assert "5 users" in team
    assert "Can reports.export" in team
    assert "Can members.invite" in team
    free = html[html.index('id="tier-free"') : html.index('id="tier-pro"')]
    assert "1 user<" in free
    assert "Try it out." in free
    assert "$0" in free
    assert "No tiers yet" not in html


def test_rank_ties_are_broken_by_key(client):
    add_tier("zeta", 1, name="Zeta")
    add_tier("alpha", 1, name="Alpha")
    add_tier("first", 0, name="First")
    db.session.commit()
    html = client.get("/pricing").get_data(as_text=True)
    assert tier_names_in_order(html) == ["First", "Alpha", "Zeta"]


def test_tier_without_price_says_so(client):
    tier = add_tier("custom", 0, name="Custom")
    db.session.flush()
    tier.fallback_price = None  # the column's default fills a None given at insert
    db.session.commit()
    html = client.get("/pricing").get_data(as_text=True)
    assert "Price on request" in html


def test_pricing_runs_the_same_number_of_queries_for_2_and_20_tiers(app, client):
    permissions = add_permissions(*(f"feature.{n}" for n in range(6)))
    for n in range(2):
        add_tier(f"tier{n:02d}", n, permissions[n : n + 3])
    db.session.commit()
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        html = client.get("/pricing").get_data(as_text=True)
        with_two = len(statements)
        assert len(tier_names_in_order(html)) == 2

        for n in range(2, 20):
            add_tier(f"tier{n:02d}", n, permissions[n % 6 : n % 6 + 3])
        db.session.commit()
        statements.clear()
        html = client.get("/pricing").get_data(as_text=True)
        with_twenty = len(statements)
        assert len(tier_names_in_order(html)) == 20
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert with_two == with_twenty
    assert with_two > 0


def test_pricing_on_every_backend(any_backend_app):
    (export,) = add_permissions("reports.export")
    add_tier("pro", 10, [export], name="Pro", fallback_price="$19", user_limit=3)
    add_tier("free", 0, [], name="Free")
    add_tier("internal", 1, [export], name="Internal", is_customer_facing=False)
    db.session.commit()
    html = any_backend_app.test_client().get("/pricing").get_data(as_text=True)
    assert tier_names_in_order(html) == ["Free", "Pro"]
    assert "3 users" in html
    assert "Can reports.export" in html


def test_page_is_accessible_and_has_no_inline_script_or_style(client):
    add_tier("free", 0, name="Free")
    db.session.commit()
    html = client.get("/pricing").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "<h1>Pricing</h1>" in html
    assert '<nav aria-label="Main">' in html
    assert "<main" in html
    assert "<script" not in html
    assert "<style" not in html
    assert "style=" not in html
    stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+)">', html)
    assert stylesheets == ["/assets/tiergate.css"]


def test_stylesheet_is_served_from_the_package(client):
    response = client.get("/assets/tiergate.css")
    assert response.status_code == 200
    assert response.mimetype == "text/css"
    assert ".tier" in response.get_data(as_text=True)
    response.close()


def test_tier_names_are_escaped(client):
    add_tier("odd", 0, name="<b>Bold</b>")
    db.session.commit()
    html = client.get("/pricing").get_data(as_text=True)
    assert "&lt;b&gt;Bold&lt;/b&gt;" in html
    assert "<b>Bold</b>" not in html


def test_root_sends_visitors_to_pricing(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/pricing"
