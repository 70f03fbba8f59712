"""`tiergate catalog ...` and `tiergate tiers ...`."""

from __future__ import annotations

from flask.cli import AppGroup

catalog_cli = AppGroup("catalog", help="Load and export the tier catalog.")
tiers_cli = AppGroup("tiers", help="Inspect subscription tiers.")
