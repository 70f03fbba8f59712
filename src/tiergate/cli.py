"""The `tiergate` command: Flask's CLI bound to the tiergate app factory."""

from __future__ import annotations

import sys

import click
from flask.cli import FlaskGroup

from . import create_app
from .errors import ConfigurationError

cli = FlaskGroup(create_app=lambda: create_app(), help="tiergate: tiers, permissions, billing.")


def main() -> None:
    """Run the `tiergate` command line."""
    try:
        cli.main(prog_name="tiergate")
    except ConfigurationError as error:
        # A setting is missing or wrong: say which, without a traceback.
        click.echo(f"Error: {error.message}", err=True)
        sys.exit(2)
