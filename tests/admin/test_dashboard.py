"""The dashboard's numbers agree with entitlements; its charts are accessible inline SVG."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta

import sqlalchemy as sa

from tiergate.accounts.models import Account
from tiergate.admin.charts import bar_chart
from tiergate.audit.services import Actor
from tiergate.billing.services import grant_exempt_tier
from tiergate.billing.webhooks.models import WebhookEvent
from tiergate.db import db, utcnow
from tiergate.entitlements.services import entitlements_for

from ..accounts.factories import make_account, subscribe
from .support import text
from .test_events import deliver, stripe_event


def table_rows(page: str, heading_id: str) -> dict[str, int]:
    section = page[page.index(f'id="{heading_id}"') :].split("</table>")[0]
    return {
        name: int(count)
        for name, count in re.findall(
            r'<tr><td>([^<]+)</td><td class="num">(\d+)</td></tr>', section
        )
    }


def test_accounts_per_tier_match_the_entitlements_of_each_account(staff, cast) -> None:
    now = utcnow()
    subscribe(make_account("globex"), "pro", updated_at=now)
    subscribe(make_account("initech"), "team", status="canceled", updated_at=now)
    # past_due long ago: the grace period is over, so the account falls back to free.
    subscribe(
        make_account("hooli"),
        "team",
        status="past_due",
        period_end=now - timedelta(days=30),
        updated_at=now,
    )
    umbrella = make_account("umbrella")
    grant_exempt_tier(umbrella, "partner", actor=Actor.system("tests"), reason="Partner")
    db.session.commit()

    page = text(staff.get("/admin"))

    accounts = db.session.scalars(sa.select(Account)).all()
    expected = Counter(entitlements_for(account).tier.name for account in accounts)  # type: ignore[union-attr]
    shown = table_rows(page, "tiers-title")
    assert {name: count for name, count in shown.items() if count} == dict(expected)
    assert shown["Free"] == 3 and shown["Pro"] == 1 and shown["Partner"] == 1
    assert shown["Enterprise"] == 0
    statuses = table_rows(page, "statuses-title")
    assert (statuses["active"], statuses["canceled"], statuses["past_due"]) == (2, 1, 1)
    assert f"<strong>{len(accounts)}</strong> accounts" in page


def test_failed_events_of_the_last_day_are_counted_and_charted(staff, cast) -> None:
    assert deliver(staff, stripe_event("evt_bad", cast.account.id, "nope_monthly")) == 500
    assert deliver(staff, stripe_event("evt_ok", cast.account.id, "pro_monthly")) == 200
    page = text(staff.get("/admin"))
    assert '<strong id="failed-24h">1</strong>' in page
    today = utcnow().strftime("%d %b")
    chart = page[page.index('id="chart-events"') :].split("</svg>")[0]
    assert f"{today}: 2 events, 1 failed" in chart
    assert f"{today}: 2 (1 failed)" in chart  # the description reads the numbers out
    assert chart.count('class="chart-value"') == 14


def test_charts_are_accessible_svg_without_script_or_style_attributes(staff, cast) -> None:
    page = text(staff.get("/admin"))
    for chart_id in ("chart-tiers", "chart-events"):
        assert f'<svg id="{chart_id}" class="chart-svg" role="img"' in page
        assert f'aria-labelledby="{chart_id}-title {chart_id}-desc"' in page
        assert f'<title id="{chart_id}-title">' in page and f'<desc id="{chart_id}-desc">' in page
    assert "<script" not in page
    assert " style=" not in page
    assert re.search(r'<text class="chart-label"[^>]*>Free</text>', page)


def test_bar_geometry_and_labels() -> None:
    chart = bar_chart(
        "c",
        "T",
        "D",
        [("a", 10, 5), ("a very long tier name", 5, 0), ("z", 0, 0)],
        unit="things",
    )
    tall, half, empty = chart.bars
    assert chart.max_value == 10
    assert tall.height == 2 * half.height and empty.height == 0
    assert tall.y + tall.height == half.y + half.height == chart.baseline
    assert tall.highlight_height == tall.height / 2
    assert half.short_label == "a very long…" and half.label == "a very long tier name"
    assert tall.x < half.x < empty.x


def test_a_chart_of_nothing_draws_no_bars_and_escapes_its_text(staff, cast) -> None:
    chart = bar_chart("c", "<b>", "", [], unit="x")
    assert chart.bars == () and chart.max_value == 0
    db.session.execute(
        sa.text("UPDATE subscription_tier SET name = '<i>Free</i>' WHERE key = 'free'")
    )
    db.session.commit()
    page = text(staff.get("/admin"))
    assert "<i>Free</i>" not in page and "&lt;i&gt;Free&lt;/i&gt;" in page


def test_the_backlog_of_unapplied_events_is_shown_with_its_age(staff, cast) -> None:
    page = text(staff.get("/admin"))
    assert '<strong id="inbox-backlog">0</strong>' in page
    assert "the oldest for" not in page
    received = utcnow() - timedelta(minutes=90)
    db.session.add(
        WebhookEvent(
            provider="stripe",
            provider_event_id="evt_waiting",
            type="customer.subscription.updated",
            received_at=received,
            provider_created_at=received,
            payload={"id": "evt_waiting"},
        )
    )
    db.session.commit()
    page = text(staff.get("/admin"))
    assert '<strong id="inbox-backlog">1</strong>' in page
    assert "webhook events waiting to be applied, the oldest for 1 hour" in " ".join(page.split())
