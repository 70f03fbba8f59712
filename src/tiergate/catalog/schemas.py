"""Catalog field rules and the YAML catalog document: parse, validate, dump.

The rules here are the only ones: the services and the catalog loader both call them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import yaml

from ..billing.providers.registry import REGISTRY
from ..errors import ValidationError
from .models import (
    BILLING_PROVIDERS,
    ENFORCEMENTS,
    MAX_TRIAL_DAYS,
    PERMISSION_KINDS,
    Permission,
    SubscriptionTier,
)

#: Integer columns are 32-bit on every backend.
MAX_INT: Final = 2**31 - 1
KEY_PATTERN: Final = re.compile(r"[a-z0-9][a-z0-9._-]*")
#: Descriptions are Text columns: MariaDB's TEXT holds 65,535 bytes, 4 per character at worst.
MAX_DESCRIPTION: Final = 10_000


@dataclass(frozen=True)
class FieldSpec:
    """What one catalog field accepts."""

    kind: type
    default: Any = None
    nullable: bool = False
    required: bool = False
    max_length: int | None = None


def _length(model: Any, column: str) -> int:
    length = model.__table__.c[column].type.length
    assert isinstance(length, int)
    return length


TIER_FIELDS: Final[dict[str, FieldSpec]] = {
    "key": FieldSpec(str, required=True, max_length=_length(SubscriptionTier, "key")),
    "name": FieldSpec(str, required=True, max_length=_length(SubscriptionTier, "name")),
    "description": FieldSpec(str, nullable=True, max_length=MAX_DESCRIPTION),
    "rank": FieldSpec(int, default=0),
    "user_limit": FieldSpec(int, default=1),
    "is_customer_facing": FieldSpec(bool, default=True),
    "billing_provider": FieldSpec(str, default="exempt"),
    "is_billing_exempt": FieldSpec(bool, default=False),
    "stripe_lookup_key": FieldSpec(
        str, nullable=True, max_length=_length(SubscriptionTier, "stripe_lookup_key")
    ),
    "stripe_yearly_lookup_key": FieldSpec(
        str, nullable=True, max_length=_length(SubscriptionTier, "stripe_yearly_lookup_key")
    ),
    "whop_product_key": FieldSpec(
        str, nullable=True, max_length=_length(SubscriptionTier, "whop_product_key")
    ),
    "whop_yearly_product_key": FieldSpec(
        str, nullable=True, max_length=_length(SubscriptionTier, "whop_yearly_product_key")
    ),
    "fallback_price": FieldSpec(
        str, default="$0", nullable=True, max_length=_length(SubscriptionTier, "fallback_price")
    ),
    "trial_days": FieldSpec(int, default=0),
    "per_seat": FieldSpec(bool, default=False),
    "is_addon": FieldSpec(bool, default=False),
}
PERMISSION_FIELDS: Final[dict[str, FieldSpec]] = {
    "key": FieldSpec(str, required=True, max_length=_length(Permission, "key")),
    "name": FieldSpec(str, required=True, max_length=_length(Permission, "name")),
    "description": FieldSpec(str, nullable=True, max_length=MAX_DESCRIPTION),
    "kind": FieldSpec(str, default="feature"),
    "enforcement": FieldSpec(str, default="hard"),
    "unit": FieldSpec(str, nullable=True, max_length=_length(Permission, "unit")),
    "meter_event_name": FieldSpec(
        str, nullable=True, max_length=_length(Permission, "meter_event_name")
    ),
    "metered_price_lookup_key": FieldSpec(
        str, nullable=True, max_length=_length(Permission, "metered_price_lookup_key")
    ),
}
#: Tier columns that must be unique across the catalog.
UNIQUE_TIER_FIELDS: Final = (
    "key",
    "stripe_lookup_key",
    "stripe_yearly_lookup_key",
    "whop_product_key",
    "whop_yearly_product_key",
)
#: The yearly key of each provider, beside the primary key it completes (from the registry).
YEARLY_KEYS: Final = tuple((paid.yearly_key_field, paid.key_field) for paid in REGISTRY)
#: Unique columns that share one set of values: a provider key names one price (or product)
#: whichever interval column holds it, so a yearly key may not repeat any tier's primary key.
KEY_NAMESPACES: Final = dict(YEARLY_KEYS)
_IDENTIFIERS: Final = frozenset(UNIQUE_TIER_FIELDS)
_KIND_NAMES: Final = {str: "a string", int: "an integer", bool: "true or false"}


def defaults(specs: Mapping[str, FieldSpec]) -> dict[str, Any]:
    """Return the value each optional field takes when it is left out."""
    return {name: spec.default for name, spec in specs.items() if not spec.required}


def _value_problem(name: str, spec: FieldSpec, value: Any) -> str | None:
    if value is None:
        return None if spec.nullable else f"{name} is required and may not be null"
    # bool is an int in Python; a YAML `yes` must not pass as a user limit.
    if not isinstance(value, spec.kind) or (spec.kind is int and isinstance(value, bool)):
        return f"{name} must be {_KIND_NAMES[spec.kind]}, not {type(value).__name__} {value!r}"
    if isinstance(value, str):
        if spec.max_length is not None and len(value) > spec.max_length:
            return f"{name} is {len(value)} characters long; at most {spec.max_length} fit"
        if not value.strip() and name != "description":
            return f"{name} may not be empty"
        if name == "key" and not KEY_PATTERN.fullmatch(value):
            return (
                f"key {value!r} may use only lowercase letters, digits, '.', '_' and '-', "
                "and must start with a letter or digit"
            )
        if name in _IDENTIFIERS and value != value.strip():
            return f"{name} {value!r} may not start or end with whitespace"
    if isinstance(value, int) and not -MAX_INT <= value <= MAX_INT:
        return f"{name} {value} is out of range"
    return None


def field_problems(values: Mapping[str, Any], specs: Mapping[str, FieldSpec]) -> list[str]:
    """Return what is wrong with ``values``: unknown, missing, mistyped or overlong fields."""
    problems = [f"unknown field {name!r}" for name in values if name not in specs]
    for name, spec in specs.items():
        if name not in values:
            if spec.required:
                problems.append(f"{name} is required")
            continue
        problem = _value_problem(name, spec, values[name])
        if problem:
            problems.append(problem)
    return problems


def tier_problems(values: Mapping[str, Any]) -> list[str]:
    """Return what is wrong with a tier's complete field values."""
    problems = field_problems(values, TIER_FIELDS)
    limit = values.get("user_limit")
    if type(limit) is int and limit < 1:
        problems.append(f"user_limit must be at least 1, not {limit}")
    provider = values.get("billing_provider")
    if isinstance(provider, str) and provider not in BILLING_PROVIDERS:
        problems.append(
            f"billing_provider {provider!r} is not one of {', '.join(BILLING_PROVIDERS)}"
        )
    if provider == "stripe" and not values.get("stripe_lookup_key"):
        problems.append("a stripe tier needs a stripe_lookup_key")
    if provider == "whop" and not values.get("whop_product_key"):
        problems.append("a whop tier needs a whop_product_key")
    problems.extend(_lifecycle_problems(values))
    return problems


def _lifecycle_problems(values: Mapping[str, Any]) -> list[str]:
    """Return what is wrong with a tier's yearly keys, trial days and add-on flag."""
    problems = []
    for yearly, primary in YEARLY_KEYS:
        value = values.get(yearly)
        if isinstance(value, str) and not values.get(primary):
            problems.append(f"{yearly} needs a {primary} (the tier's primary, monthly price)")
        elif isinstance(value, str) and value.casefold() == str(values[primary]).casefold():
            problems.append(f"{yearly} {value!r} is the tier's own {primary}; it must differ")
    trial = values.get("trial_days")
    if type(trial) is int and not 0 <= trial <= MAX_TRIAL_DAYS:
        problems.append(f"trial_days must be between 0 and {MAX_TRIAL_DAYS}, not {trial}")
    return problems


def default_tier_problem(key: object, is_addon: object) -> str | None:
    """Return why tier ``key`` cannot be the default tier (an add-on is no plan), or None."""
    return f"tier {key!r} is an add-on (is_addon)" if is_addon else None


def permission_problems(values: Mapping[str, Any]) -> list[str]:
    """Return what is wrong with a permission's complete field values."""
    problems = field_problems(values, PERMISSION_FIELDS)
    kind, enforcement = values.get("kind", "feature"), values.get("enforcement", "hard")
    if isinstance(kind, str) and kind not in PERMISSION_KINDS:
        problems.append(f"kind {kind!r} is not one of {', '.join(PERMISSION_KINDS)}")
    if isinstance(enforcement, str) and enforcement not in ENFORCEMENTS:
        problems.append(f"enforcement {enforcement!r} is not one of {', '.join(ENFORCEMENTS)}")
    elif enforcement == "soft" and kind != "metered":
        problems.append("only a metered permission can have a soft limit")
    for name in ("meter_event_name", "metered_price_lookup_key"):
        if values.get(name) is not None and kind != "metered":
            problems.append(f"{name} is only for a metered permission")
    if values.get("metered_price_lookup_key") and not values.get("meter_event_name"):
        problems.append("metered_price_lookup_key needs the meter_event_name it bills")
    return problems


def limit_problem(permission: str, kind: object, limit: object) -> str | None:
    """Return what is wrong with a tier's ``limit`` on ``permission`` (None: unlimited)."""
    if kind == "feature":
        return f"permission {permission!r} is a feature (kind feature) and takes no limit"
    if limit is None:
        return None
    if type(limit) is not int:
        return f"the limit on {permission!r} must be an integer or null, not {limit!r}"
    if not 0 <= limit <= MAX_INT:
        return f"the limit on {permission!r} must be between 0 and {MAX_INT}, not {limit}"
    return None


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a catalog entry."""

    where: str
    message: str


def clash_problems(
    entries: Sequence[tuple[str, Mapping[str, Any]]], fields: Iterable[str]
) -> list[Problem]:
    """Report each entry whose unique field repeats an earlier entry's value.

    Values are compared ignoring case: MariaDB's default collation does, so a catalog that
    differs only in case would load on one backend and fail on another.
    """
    fields = tuple(fields)
    seen: dict[tuple[str, str], tuple[str, str]] = {}
    problems = []
    for where, values in entries:
        for name in fields:
            value = values.get(name)
            if not isinstance(value, str):
                continue
            space = KEY_NAMESPACES.get(name, name)
            first, first_name = seen.setdefault((space, value.casefold()), (where, name))
            if first == where:
                # First seen here, or the entry's own primary key again (tier_problems names it).
                continue
            used = "" if first_name == name else f" as its {first_name}"
            problems.append(
                Problem(where, f"duplicate {name} {value!r}, already used by {first}{used}")
            )
    return problems


class CatalogError(ValidationError):
    """A catalog document that cannot be loaded; lists every problem found."""

    code = "invalid_catalog"

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        lines = [f"{source}: {problem.where}: {problem.message}" for problem in problems]
        count = f"{len(lines)} problem{'s' if len(lines) != 1 else ''}"
        super().__init__(
            f"{source}: catalog not loaded, {count}:\n" + "\n".join(lines),
            source=source,
            problems=[{"where": p.where, "message": p.message} for p in problems],
        )
        self.problems = list(problems)


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML text, turning a syntax error into a CatalogError with its line."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "document"
        reason = getattr(error, "problem", None) or str(error)
        raise CatalogError(source, [Problem(where, f"malformed YAML: {reason}")]) from None


def dump_yaml(document: Mapping[str, Any]) -> str:
    """Render an exported catalog as YAML, keeping the field order."""
    return yaml.safe_dump(dict(document), sort_keys=False, allow_unicode=True, width=100)
