"""Short, currency-aware price labels for the pricing page: "$19/mo", "€190/yr", "¥2,000/mo"."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

#: Currencies Stripe counts in whole units: an amount of 2000 JPY is ¥2,000, not ¥20.
ZERO_DECIMAL_CURRENCIES = frozenset(
    {
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    }
)
#: Symbols unambiguous enough to stand alone; every other currency shows its code ("CHF 19").
SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "inr": "₹", "krw": "₩"}
SHORT_INTERVALS = {"day": "day", "week": "wk", "month": "mo", "year": "yr"}


def major_amount(minor: Decimal, currency: str) -> Decimal:
    """Return an amount in a currency's smallest unit (Stripe's cents) in whole units."""
    if currency.lower() in ZERO_DECIMAL_CURRENCIES:
        return minor
    return minor / 100


def format_amount(amount: Decimal, currency: str) -> str:
    """Return "$19", "$9.50", "¥2,000" or "CHF 19" for an amount in whole units."""
    code = currency.lower()
    if amount == amount.to_integral_value() or code in ZERO_DECIMAL_CURRENCIES:
        number = f"{amount.quantize(Decimal(1)):,}"
    else:
        number = f"{amount.quantize(Decimal('0.01')):,}"
    symbol = SYMBOLS.get(code)
    return f"{symbol}{number}" if symbol else f"{code.upper()} {number}"


def format_price(amount: Decimal, currency: str, interval: str | None, count: int = 1) -> str:
    """Return "$19/mo", "€190/yr", "$50 every 3 months", or the bare amount when one-time."""
    text = format_amount(amount, currency)
    if interval is None:
        return text
    if count == 1:
        return f"{text}/{SHORT_INTERVALS.get(interval, interval)}"
    return f"{text} every {count} {interval}s"


def whop_interval(billing_period_days: float) -> tuple[str, int]:
    """Return (interval, count) for a Whop billing period in days: 30 → month, 365 → year."""
    days = round(billing_period_days)
    if 365 <= days <= 366:
        return "year", 1
    if days > 366 and days % 365 == 0:
        return "year", days // 365
    if 28 <= days <= 31:
        return "month", 1
    if days > 31 and days % 30 in (0, 1, 2) and days < 365:
        return "month", round(days / 30.4)
    if days % 7 == 0:
        return "week", days // 7
    return "day", days


@dataclass(frozen=True)
class DisplayPrice:
    """A tier's price as its provider sells it, with the text the page shows."""

    provider: str
    amount: Decimal
    currency: str
    #: "month", "year", "week" or "day"; None for a one-time price.
    interval: str | None
    interval_count: int
    #: What the page shows, such as "$19/mo" or "€190/yr".
    label: str


def display_price(
    provider: str, amount: Decimal, currency: str, interval: str | None, count: int
) -> DisplayPrice:
    """Return the display price of an amount in whole units, its label formatted."""
    label = format_price(amount, currency, interval, count)
    return DisplayPrice(provider, amount, currency.lower(), interval, count, label)
