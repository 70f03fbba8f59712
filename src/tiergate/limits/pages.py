"""What the pages show of limits: meters on /account, numbers on /pricing (template globals)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask, g

from ..catalog.limits import all_limits
from ..catalog.models import Permission
from ..db import db
from ..entitlements.services import get_cache
from .decisions import WARNING_FILL, LimitCheck
from .services import usage

_PAGE_LIMITS = "tiergate_page_limits"


@dataclass(frozen=True)
class Meter:
    """One limit on /account: the decision with what the page says about it."""

    check: LimitCheck
    name: str
    #: "ok", "warning" (at 80 %) or "full" (at or over the limit), for the meter's colour.
    level: str
    #: For an account over its limit (a downgrade): how many to remove, or the tier that fits.
    advice: str | None


def _level(check: LimitCheck) -> str:
    fill = check.fill
    if fill is None or fill < WARNING_FILL:
        return "ok"
    return "warning" if fill < 1 else "full"


def _advice(check: LimitCheck, unit: str) -> str | None:
    if not check.over_limit or check.billed or check.limit is None:
        return None
    tiers = {tier.key: tier.name for tier in get_cache().catalog().tiers.values()}
    fits = [tiers[key] for key in check.upgrade_to if key in tiers]
    remove = f"remove {check.used - check.limit} {unit} to get back within your plan"
    return f"{remove}, or upgrade to {fits[0]}" if fits else remove


def limit_meters(account_id: int) -> list[Meter]:
    """Return the account's limits as meters, in the catalog's permission order."""
    catalog = get_cache().catalog()
    meters = []
    for check in usage(account_id):
        info = catalog.limited[check.permission]
        unit = info.unit or info.name
        meters.append(Meter(check, info.name, _level(check), _advice(check, unit)))
    return meters


#: The counting period of a metered limit, by billing interval.
PERIOD_WORDS = {"month": " a month", "year": " a year"}


def _page_limits() -> tuple[dict[int, dict[str, int | None]], dict[str, Permission]]:
    """Every tier's limits and the limited permissions, read once per request (two queries)."""
    memo = g.get(_PAGE_LIMITS)
    if memo is None:
        permissions = db.session.scalars(sa.select(Permission).where(Permission.kind != "feature"))
        memo = (all_limits(), {p.key: p for p in permissions})
        setattr(g, _PAGE_LIMITS, memo)
    return memo


def tier_limit_lines(tier_id: int, interval: str = "month") -> list[str]:
    """Return a tier's limits in words: "50 projects", "10,000 API calls a month".

    A metered count follows the billing period, so on a yearly plan it is "a year"; a tier
    without a subscription counts by the calendar month.
    """
    if interval not in PERIOD_WORDS:
        raise ValueError(f"interval must be one of {sorted(PERIOD_WORDS)}, not {interval!r}")
    limits, permissions = _page_limits()
    lines = []
    for key, limit in sorted(limits.get(tier_id, {}).items()):
        unit = permissions[key].unit or permissions[key].name
        amount = "Unlimited" if limit is None else f"{limit:,}"
        period = PERIOD_WORDS[interval] if permissions[key].kind == "metered" else ""
        lines.append(f"{amount} {unit}{period}")
    return lines


def register_template_globals(app: Flask) -> None:
    """Give templates ``tiergate_limit_meters`` and ``tiergate_tier_limits``."""
    app.add_template_global(limit_meters, "tiergate_limit_meters")
    app.add_template_global(tier_limit_lines, "tiergate_tier_limits")
