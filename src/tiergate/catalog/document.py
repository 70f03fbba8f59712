"""The YAML catalog document: validate a parsed document into complete field values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .schemas import (
    PERMISSION_FIELDS,
    TIER_FIELDS,
    UNIQUE_TIER_FIELDS,
    CatalogError,
    Problem,
    clash_problems,
    default_tier_problem,
    defaults,
    limit_problem,
    permission_problems,
    tier_problems,
)


@dataclass
class CatalogDocument:
    """A validated catalog: complete field values for each permission and tier."""

    permissions: list[dict[str, Any]] = field(default_factory=list)
    tiers: list[dict[str, Any]] = field(default_factory=list)
    #: tier key -> the permission keys it grants, sorted
    grants: dict[str, list[str]] = field(default_factory=dict)
    #: tier key -> permission key -> its limit (None: unlimited), for limited permissions
    limits: dict[str, dict[str, int | None]] = field(default_factory=dict)
    default_tier: str | None = None


def _label(section: str, index: int, entry: Any) -> str:
    key = entry.get("key") if isinstance(entry, Mapping) else None
    return f"{section}[{index}] (key {key!r})" if isinstance(key, str) else f"{section}[{index}]"


def _entries(raw: Mapping[str, Any], section: str, problems: list[Problem]) -> list[Any]:
    value = raw.get(section)
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(Problem(section, f"must be a list, not {type(value).__name__}"))
        return []
    return value


def _parse_section(
    raw: Mapping[str, Any], section: str, problems: list[Problem]
) -> list[tuple[str, Mapping[str, Any], dict[str, Any]]]:
    """Return (label, entry, complete values) for each mapping in a section; collect problems."""
    specs = TIER_FIELDS if section == "tiers" else PERMISSION_FIELDS
    check = tier_problems if section == "tiers" else permission_problems
    parsed = []
    for index, entry in enumerate(_entries(raw, section, problems)):
        where = _label(section, index, entry)
        if not isinstance(entry, Mapping):
            problems.append(Problem(where, f"must be a mapping, not {type(entry).__name__}"))
            continue
        # A tier's permission list and limits are not columns; _parse_grants checks them.
        values = {**defaults(specs), **entry}
        if section == "tiers":
            values.pop("permissions", None)
            values.pop("limits", None)
        problems.extend(Problem(where, message) for message in check(values))
        parsed.append((where, entry, values))
    unique = UNIQUE_TIER_FIELDS if section == "tiers" else ("key",)
    problems.extend(clash_problems([(where, values) for where, _, values in parsed], unique))
    return parsed


def _parse_grants(
    entry: Mapping[str, Any], where: str, known: set[str], problems: list[Problem]
) -> list[str]:
    keys = entry.get("permissions") or []
    if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
        problems.append(Problem(where, "permissions must be a list of permission keys"))
        return []
    for key in keys:
        if key not in known:
            problems.append(Problem(where, f"unknown permission {key!r} (not in permissions:)"))
    for key in sorted({key for key in keys if keys.count(key) > 1}):
        problems.append(Problem(where, f"permission {key!r} is listed more than once"))
    return sorted(set(keys))


def _parse_limits(
    entry: Mapping[str, Any],
    where: str,
    grants: list[str],
    kinds: Mapping[str, Any],
    problems: list[Problem],
) -> dict[str, int | None]:
    """Return the tier's limit of each limited permission it grants (unlisted: unlimited)."""
    raw = entry.get("limits") or {}
    if not isinstance(raw, Mapping):
        problems.append(Problem(where, "limits must be a mapping of permission key to a number"))
        return {}
    for key, limit in raw.items():
        if key not in grants:
            problems.append(Problem(where, f"limits names {key!r}, which the tier does not grant"))
        elif (problem := limit_problem(key, kinds.get(key), limit)) is not None:
            problems.append(Problem(where, problem))
    return {key: raw.get(key) for key in grants if kinds.get(key) not in (None, "feature")}


def parse_document(raw: Any, source: str) -> CatalogDocument:
    """Validate a parsed YAML catalog; raise CatalogError listing every problem."""
    if not isinstance(raw, Mapping):
        kind = "empty" if raw is None else f"a {type(raw).__name__}"
        message = f"the document is {kind}; expected a mapping with permissions and tiers"
        raise CatalogError(source, [Problem("document", message)])
    problems = [
        Problem("document", f"unknown top-level field {name!r}")
        for name in raw
        if name not in ("permissions", "tiers", "default_tier")
    ]
    document = CatalogDocument()
    for _, _, values in _parse_section(raw, "permissions", problems):
        document.permissions.append(values)
    kinds = {str(values.get("key")): values.get("kind") for values in document.permissions}
    for where, entry, values in _parse_section(raw, "tiers", problems):
        document.tiers.append(values)
        grants = _parse_grants(entry, where, set(kinds), problems)
        document.grants[str(values.get("key"))] = grants
        document.limits[str(values.get("key"))] = _parse_limits(
            entry, where, grants, kinds, problems
        )
    default = raw.get("default_tier")
    if default is not None and not (isinstance(default, str) and default in document.grants):
        problems.append(Problem("default_tier", f"unknown tier {default!r} (not in tiers:)"))
    else:
        problems.extend(
            Problem("default_tier", problem)
            for values in document.tiers
            if values.get("key") == default
            and (problem := default_tier_problem(default, values.get("is_addon")))
        )
    document.default_tier = default
    if problems:
        raise CatalogError(source, problems)
    return document
