"""The `tiergate` command: the standalone app's command line.

Its commands are known without building the app, so ``tiergate --help`` works with no
configuration at all; a command that needs the app builds it from the environment, and a
missing or wrong setting is one line of error, not a traceback.
"""

from __future__ import annotations

import sys
from typing import Any

import click
from flask.cli import FlaskGroup

from ..errors import ConfigurationError


class TiergateCommandLine(FlaskGroup):
    """Flask's CLI for the standalone app, listing tiergate's commands without loading it."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.commands)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return self.commands.get(name)


def _create_app() -> Any:
    from . import create_app

    return create_app()


def standalone_commands() -> list[click.Command]:
    """Return tiergate's commands and the standalone app's own (users, serve, demo)."""
    from ..commands import commands
    from .demo import demo_command
    from .serve import serve_command
    from .users_cli import users_cli

    return [*commands(), users_cli, serve_command, demo_command]


def build_cli() -> TiergateCommandLine:
    """Return the `tiergate` command group with every standalone command."""
    cli = TiergateCommandLine(
        create_app=_create_app,
        add_default_commands=False,
        help="tiergate: tiers, permissions, billing.",
    )
    for command in standalone_commands():
        cli.add_command(command)
    return cli


def main() -> None:
    """Run the `tiergate` command line."""
    try:
        build_cli().main(prog_name="tiergate")
    except ConfigurationError as error:
        # A setting is missing or wrong: say which, without a traceback.
        click.echo(f"Error: {error.message}", err=True)
        sys.exit(2)
