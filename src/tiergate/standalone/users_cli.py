"""`tiergate users create`: the standalone app's users."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from ..audit.services import Actor
from ..cli_support import command_transaction
from ..db import begin_write_transaction
from .users import create_user

users_cli = AppGroup("users", help="Users who can log in (the standalone app's own).")


@users_cli.command("create")
@click.argument("email")
@click.option("--staff", is_flag=True, help="Make the user staff (admin console, staff API).")
@click.option("--name", "display_name", default="", help="Display name.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="The password (prompted for when left out).",
)
def create_user_command(email: str, staff: bool, display_name: str, password: str) -> None:
    """Create a user who can log in."""
    begin_write_transaction()
    with command_transaction():
        user = create_user(
            email,
            password=password,
            display_name=display_name,
            is_staff=staff,
            actor=Actor.system("cli"),
        )
    click.echo(f"Created {'staff ' if user.is_staff else ''}user {user.email} (id {user.id}).")
