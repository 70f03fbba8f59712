"""`tiergate accounts ...`."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask.cli import AppGroup

from ..audit.services import Actor
from ..billing.services import grant_exempt_tier, revoke_exempt_tier, subscriptions_of
from ..cli_support import command_transaction
from ..db import begin_write_transaction
from ..entitlements.services import fresh_entitlements
from . import users
from .services import create_account, find_user, get_account, list_accounts

accounts_cli = AppGroup("accounts", help="Customer accounts, members and exempt grants.")


def _cli_actor(staff_email: str | None) -> Actor:
    if staff_email:
        user = find_user(staff_email)
        if user is None or not users.is_staff(user):
            raise click.ClickException(f"{staff_email} is not a staff user")
        return Actor.user(user)
    return Actor.system("cli")


@accounts_cli.command("list")
def list_command() -> None:
    """List every account with its effective tier and seats."""
    for account in list_accounts():
        entitlements = fresh_entitlements(account)
        over = "  OVER LIMIT" if entitlements.over_limit else ""
        click.echo(
            f"{account.id}\t{account.slug}\t{account.name}\t{entitlements.tier_key or '-'}\t"
            f"seats {entitlements.seats_used}/{entitlements.seat_limit}{over}"
        )


@accounts_cli.command("show")
@click.argument("account")
def show_command(account: str) -> None:
    """Show an account: tier, status, seats, members and subscriptions."""
    with command_transaction(commit=False):
        found = get_account(account)
    entitlements = fresh_entitlements(found)
    click.echo(f"{found.name} ({found.slug}, id {found.id})")
    click.echo(f"tier: {entitlements.tier_key or '-'}  status: {entitlements.status or '-'}")
    if entitlements.fallback_reason:
        click.echo(f"fell back: {entitlements.fallback_reason}")
    click.echo(f"seats: {entitlements.seats_used}/{entitlements.seat_limit}")
    if entitlements.over_limit:
        click.echo("over the seat limit: no new members until seats are freed or the tier grows")
    click.echo(f"permissions: {', '.join(sorted(entitlements.permissions)) or '-'}")
    members = users.by_id(membership.user_id for membership in found.memberships)
    for membership in sorted(found.memberships, key=lambda m: _email(members, m.user_id)):
        click.echo(f"member: {_email(members, membership.user_id)} ({membership.role})")
    for subscription in subscriptions_of(found):
        until = subscription.grant_expires_at or subscription.current_period_end
        click.echo(
            f"subscription: {subscription.provider} {subscription.provider_subscription_id} "
            f"{subscription.tier.key} {subscription.status}"
            + (f" until {until.isoformat()}" if until else "")
            + (f" ({subscription.grant_reason})" if subscription.grant_reason else "")
        )


def _email(members: dict[int, object], user_id: int) -> str:
    user = members.get(user_id)
    return users.email_of(user) if user is not None else f"(user {user_id})"


def _parse_day(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as error:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from error


@accounts_cli.command("create")
@click.argument("name")
@click.option("--slug", help="The account's URL name (default: made from NAME).")
@click.option("--owner", "owner_email", help="E-mail of an existing user who will own it.")
def create_account_command(name: str, slug: str | None, owner_email: str | None) -> None:
    """Create a customer account."""
    begin_write_transaction()
    with command_transaction():
        owner = find_user(owner_email) if owner_email else None
        if owner_email and owner is None:
            raise click.ClickException(f"no user {owner_email}: create the user first")
        account = create_account(name, slug=slug, owner=owner, actor=Actor.system("cli"))
    click.echo(f"Created account {account.slug} (id {account.id}).")


@accounts_cli.command("grant")
@click.argument("account")
@click.argument("tier")
@click.option("--reason", required=True, help="Why the account gets the tier (audit log).")
@click.option("--expires", help="Last moment of the grant: YYYY-MM-DD (00:00 UTC).")
@click.option("--as", "staff_email", help="Record the grant as made by this staff user.")
def grant_command(
    account: str, tier: str, reason: str, expires: str | None, staff_email: str | None
) -> None:
    """Grant an exempt tier to an account."""
    expires_at = _parse_day(expires)
    begin_write_transaction()
    with command_transaction():
        actor = _cli_actor(staff_email)
        found = get_account(account)
        result = grant_exempt_tier(found, tier, actor=actor, reason=reason, expires_at=expires_at)
    until = f" until {expires_at.date().isoformat()}" if expires_at else ""
    click.echo(f"Granted {tier} to {found.slug}{until} ({result.outcome.value}).")


@accounts_cli.command("revoke")
@click.argument("account")
@click.option("--reason", required=True, help="Why the grant ends (audit log).")
@click.option("--as", "staff_email", help="Record the revocation as made by this staff user.")
def revoke_command(account: str, reason: str, staff_email: str | None) -> None:
    """End an account's exempt grant."""
    begin_write_transaction()
    with command_transaction():
        actor = _cli_actor(staff_email)
        found = get_account(account)
        revoke_exempt_tier(found, actor=actor, reason=reason)
    click.echo(f"Revoked the exempt grant of {found.slug}.")
