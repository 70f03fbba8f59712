"""The `tiergate` command: Flask's CLI bound to the tiergate app factory."""

from __future__ import annotations

from flask.cli import FlaskGroup

from . import create_app

cli = FlaskGroup(create_app=lambda: create_app(), help="tiergate: tiers, permissions, billing.")


def main() -> None:
    """Run the `tiergate` command line."""
    cli.main(prog_name="tiergate")
