"""/pricing names a metered limit's counting period: the billing period of the price shown."""

from __future__ import annotations

import pytest

from tiergate.limits.pages import tier_limit_lines

from ..conftest import http_client
from ..web.support import text
from ..web.test_pricing_interval import demo_app  # noqa: F401 - the fixture
from ..web.test_pricing_upgrades import tier_section


def test_monthly_prices_count_metered_limits_a_month(demo_app):  # noqa: F811
    body = text(http_client(demo_app).get("/pricing"))
    assert "10,000 API calls a month" in tier_section(body, "pro")
    assert "1,000 API calls a month" in tier_section(body, "free")


def test_yearly_prices_count_metered_limits_a_year(demo_app):  # noqa: F811
    body = text(http_client(demo_app).get("/pricing?interval=year"))
    pro = tier_section(body, "pro")
    assert "10,000 API calls a year" in pro and "a month" not in pro
    # No yearly price: shown monthly, so it still counts by the month.
    assert "5,000 API calls a month" in tier_section(body, "community")
    # No subscription at all: the calendar month.
    assert "1,000 API calls a month" in tier_section(body, "free")
    assert "projects a year" not in body  # an allocation has no period


def test_an_unknown_interval_is_a_clear_error(demo_app):  # noqa: F811
    with demo_app.test_request_context(), pytest.raises(ValueError, match="'week'"):
        tier_limit_lines(1, "week")
