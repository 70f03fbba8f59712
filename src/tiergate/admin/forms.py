"""The console's forms. Field rules live in ``catalog.schemas``; these only parse and show.

A catalog problem is a sentence that names its field ("user_limit must be at least 1",
"a stripe tier needs a stripe_lookup_key"); ``attach_problems`` puts each next to that field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    Field,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from ..catalog.models import BILLING_PROVIDERS
from ..catalog.schemas import PERMISSION_FIELDS, TIER_FIELDS, FieldSpec

#: Optional text fields: an empty box means "no value" (NULL), not an empty string.
_NULLABLE_TEXT = (
    "description",
    "stripe_lookup_key",
    "stripe_yearly_lookup_key",
    "whop_product_key",
    "whop_yearly_product_key",
    "fallback_price",
)


class TierForm(FlaskForm):
    """Every field of a tier, plus whether it is the default tier."""

    name = StringField("Name")
    key = StringField("Key")
    description = TextAreaField("Description")
    rank = IntegerField("Rank (lower first)", default=0)
    user_limit = IntegerField("User limit (seats)", default=1)
    is_customer_facing = BooleanField("Customer-facing (shown on the pricing page)", default=True)
    billing_provider = SelectField(
        "Billing provider",
        choices=[SelectChoice(provider) for provider in BILLING_PROVIDERS],
        default="exempt",
        validate_choice=False,  # the catalog's rules say what a provider may be
    )
    is_billing_exempt = BooleanField("Billing-exempt (may be granted for free)")
    stripe_lookup_key = StringField("Stripe price lookup key (monthly)")
    stripe_yearly_lookup_key = StringField("Stripe yearly price lookup key")
    whop_product_key = StringField("Whop product id (monthly)")
    whop_yearly_product_key = StringField("Whop yearly product id")
    fallback_price = StringField("Fallback price", default="$0")
    trial_days = IntegerField("Free trial (days)", default=0)
    per_seat = BooleanField("Per-seat pricing (the quantity follows the seats in use)")
    is_addon = BooleanField("Add-on (bought beside a plan, not a plan itself)")
    is_default = BooleanField("Default tier (for accounts without a subscription)")

    def catalog_values(self) -> dict[str, Any]:
        """Return the tier's field values as the catalog services take them."""
        return _values(self, TIER_FIELDS)


class PermissionForm(FlaskForm):
    """A permission's key, name and description."""

    key = StringField("Key")
    name = StringField("Name")
    description = TextAreaField("Description")

    def catalog_values(self) -> dict[str, Any]:
        """Return the permission's field values as the catalog services take them."""
        return _values(self, {n: s for n, s in PERMISSION_FIELDS.items() if n in self._fields})


def _values(form: FlaskForm, specs: dict[str, FieldSpec]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, spec in specs.items():
        field = form._fields[name]
        value = field.data
        if spec.kind is int and value is None:
            value = spec.default  # unparsable: the field already shows why
        if name in _NULLABLE_TEXT and value == "":
            value = None
        values[name] = value
    return values


class GrantPermissionForm(FlaskForm):
    """Let a tier grant one more permission."""

    permission = SelectField("Permission", validate_choice=False)


class GrantTierForm(FlaskForm):
    """Grant an account an exempt tier, with a reason and an optional expiry (UTC)."""

    tier = SelectField("Tier", validate_choice=False)
    reason = TextAreaField("Reason (kept in the audit log)")
    expires_at = DateTimeLocalField(
        "Expires at (UTC, optional)", format="%Y-%m-%dT%H:%M", validators=[Optional()]
    )

    def expiry(self) -> Any:
        """Return the expiry as an aware UTC datetime, or None."""
        value = self.expires_at.data
        return value.replace(tzinfo=UTC) if value is not None else None


class RevokeGrantForm(FlaskForm):
    """End an account's exempt grant, with a reason."""

    reason = TextAreaField("Reason (kept in the audit log)")


class ConfirmForm(FlaskForm):
    """A confirmation button and its CSRF token."""


def field_named_in(message: str, names: Iterable[str]) -> str | None:
    """Return the field named earliest in ``message`` (as a whole word), if any."""
    found: list[tuple[int, str]] = []
    for name in names:
        match = re.search(rf"(?<![\w']){re.escape(name)}(?![\w'])", message)
        if match:
            found.append((match.start(), name))
    return min(found)[1] if found else None


def attach_problems(form: FlaskForm, problems: Iterable[str]) -> None:
    """Show each problem next to the field it names, or above the form."""
    for message in problems:
        name = field_named_in(message, form._fields)
        field: Field | None = form._fields.get(name) if name else None
        if field is None:
            form.form_errors.append(message)
        elif message not in field.errors:
            field.errors = [*field.errors, message]
