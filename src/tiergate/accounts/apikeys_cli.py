"""`tiergate apikeys create/list/revoke`."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from ..audit.services import Actor
from ..db import begin_write_transaction, db
from ..errors import TiergateError
from .apikeys import create_api_key, get_api_key, list_api_keys, revoke_api_key
from .services import get_account

apikeys_cli = AppGroup("apikeys", help="Bearer keys for the JSON API.")


def _fail(error: TiergateError) -> click.ClickException:
    db.session.rollback()
    return click.ClickException(error.message)


@apikeys_cli.command("create")
@click.option("--account", "account_ref", help="Slug or id of the account the key acts for.")
@click.option("--staff", is_flag=True, help="A staff key: every account and the staff API.")
@click.option("--name", required=True, help="What the key is for (shown in listings).")
def create_command(account_ref: str | None, staff: bool, name: str) -> None:
    """Create an API key and print its secret (shown this once only)."""
    if bool(account_ref) == staff:
        raise click.UsageError("give exactly one of --account SLUG and --staff")
    begin_write_transaction()
    try:
        account = get_account(account_ref) if account_ref else None
        key, token = create_api_key(name, account=account, actor=Actor.system("cli"))
    except TiergateError as error:
        raise _fail(error) from error
    db.session.commit()
    scope = f"account {account.slug}" if account is not None else "staff"
    click.echo(f"Created API key {key.id} ({key.prefix}…) for {scope}.")
    click.echo("Copy the key now; it is not stored and cannot be shown again:")
    click.echo(token)


@apikeys_cli.command("list")
@click.option("--account", "account_ref", help="Only this account's keys.")
@click.option("--staff", is_flag=True, help="Only staff keys.")
def list_command(account_ref: str | None, staff: bool) -> None:
    """List API keys: id, prefix, scope, name, last use and revocation."""
    try:
        account = get_account(account_ref) if account_ref else None
    except TiergateError as error:
        raise _fail(error) from error
    for key in list_api_keys(account, staff_only=staff):
        scope = key.account.slug if key.account is not None else "staff"
        used = key.last_used_at.isoformat(timespec="seconds") if key.last_used_at else "never"
        state = f"revoked {key.revoked_at.date().isoformat()}" if key.revoked_at else "active"
        click.echo(f"{key.id}\t{key.prefix}…\t{scope}\t{key.name}\tlast used {used}\t{state}")


@apikeys_cli.command("revoke")
@click.argument("key_ref")
def revoke_command(key_ref: str) -> None:
    """Revoke an API key (by id or shown prefix); it stops working at once."""
    begin_write_transaction()
    try:
        key = get_api_key(key_ref)
        revoke_api_key(key, actor=Actor.system("cli"))
    except TiergateError as error:
        raise _fail(error) from error
    db.session.commit()
    click.echo(f"Revoked API key {key.id} ({key.prefix}…).")
