"""`tiergate catalog ...` and `tiergate tiers ...`."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup

from ..cli_support import command_transaction
from .models import SubscriptionTier
from .schemas import CatalogError, Problem, dump_yaml, parse_yaml
from .services import export_catalog, list_tiers, load_catalog

catalog_cli = AppGroup("catalog", help="Load and export the tier catalog.")
tiers_cli = AppGroup("tiers", help="Inspect subscription tiers.")

DEMO_CATALOG = "demo.yaml"


def read_catalog(path: Path | None) -> tuple[str, str]:
    """Return (source name, text) of a catalog file, or of the demo catalog for None."""
    if path is None:
        return DEMO_CATALOG, files("tiergate.catalog").joinpath(DEMO_CATALOG).read_text("utf-8")
    try:
        return str(path), path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CatalogError(str(path), [Problem("file", f"cannot be read: {error}")]) from None


@catalog_cli.command("load")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--demo", is_flag=True, help="Load the demo catalog shipped with tiergate.")
@click.option("--prune", is_flag=True, help="Delete tiers and permissions the file omits.")
@click.option("--dry-run", is_flag=True, help="Validate and report the changes; write nothing.")
def load_command(file: Path | None, demo: bool, prune: bool, dry_run: bool) -> None:
    """Create or update tiers and permissions from a YAML catalog FILE (or --demo)."""
    if (file is not None) == demo:
        raise click.UsageError("give either a catalog FILE or --demo (exactly one)")
    with command_transaction(commit=not dry_run):
        source, text = read_catalog(file)
        summary = load_catalog(parse_yaml(text, source), source=source, prune=prune)
    for line in summary.lines():
        click.echo(line)
    if dry_run:
        click.echo("dry run: nothing was written")


@catalog_cli.command("export")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output.",
)
def export_command(output: Path | None) -> None:
    """Write the catalog as YAML (the format `catalog load` reads)."""
    with command_transaction(commit=False):
        text = dump_yaml(export_catalog())
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, "utf-8")
    except OSError as error:
        raise click.ClickException(f"cannot write {output}: {error}") from None
    click.echo(f"Wrote the catalog to {output}", err=True)


def tier_row(tier: SubscriptionTier) -> dict[str, Any]:
    """Return what `tiers list` shows about a tier."""
    return {
        "key": tier.key,
        "name": tier.name,
        "rank": tier.rank,
        "provider": tier.billing_provider,
        "price": tier.fallback_price,
        "yearly_key": tier.stripe_yearly_lookup_key or tier.whop_yearly_product_key,
        "trial_days": tier.trial_days,
        "per_seat": tier.per_seat,
        "is_addon": tier.is_addon,
        "user_limit": tier.user_limit,
        "valid_integration": tier.has_valid_integration,
        "integration_problem": tier.integration_problem,
        "is_default": tier.is_default,
        "is_customer_facing": tier.is_customer_facing,
        "permissions": sorted(permission.key for permission in tier.permissions),
    }


def format_table(rows: list[dict[str, Any]]) -> list[str]:
    """Lay the tiers out as an aligned text table."""
    header = ["KEY", "NAME", "PROVIDER", "PRICE", "USERS", "INTEGRATION", "PERMISSIONS"]
    cells = [header] + [
        [
            row["key"] + (" (default)" if row["is_default"] else ""),
            row["name"],
            row["provider"],
            row["price"] or "-",
            str(row["user_limit"]),
            "yes" if row["valid_integration"] else "no",
            str(len(row["permissions"])),
        ]
        for row in rows
    ]
    widths = [max(len(line[column]) for line in cells) for column in range(len(header))]
    numeric = {4, 6}
    return [
        "  ".join(
            cell.rjust(width) if column in numeric else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(line, widths, strict=True))
        ).rstrip()
        for line in cells
    ]


@tiers_cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_command(as_json: bool) -> None:
    """List the tiers in rank order."""
    with command_transaction(commit=False):
        rows = [tier_row(tier) for tier in list_tiers()]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("No tiers yet: load a catalog with `tiergate catalog load FILE` (or --demo).")
        return
    for line in format_table(rows):
        click.echo(line)
    for row in rows:
        if row["integration_problem"]:
            click.echo(f"{row['key']}: {row['integration_problem']}")
