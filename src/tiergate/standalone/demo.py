"""`tiergate demo`: a local demo on the billing sandbox, with a staff user for the console.

The demo migrates the database, loads the demo catalog, creates (or resets) one staff user
with a fresh random password, prints the credentials and the URLs, then serves. It refuses to
run unless the sandbox or debug mode is on: a staff user whose password is printed on the
terminal has no place next to real customers.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from ..audit.listeners import acting_as
from ..audit.services import Actor, record_audit_event
from ..catalog.cli import read_catalog
from ..catalog.loader import load_catalog
from ..catalog.schemas import parse_yaml
from ..cli_support import command_transaction
from ..db import db, utcnow
from ..errors import ConfigurationError
from ..mail.sender import describe_delivery
from ..migrate import upgrade_database
from .serve import listen_options, run_server, server_url
from .users import LoginFailure, User, create_user, find_user, hash_password

DEMO_STAFF_EMAIL = "staff@demo.tiergate.example"
DEMO_STAFF_NAME = "Demo staff"


@dataclass(frozen=True)
class DemoStaff:
    """The demo staff user and the password it was given just now."""

    user: User
    password: str
    created: bool


def require_demo_mode() -> None:
    """Refuse unless the billing sandbox or debug mode is on."""
    config = current_app.config
    if not (config.get("TIERGATE_SANDBOX") or config.get("DEBUG")):
        raise ConfigurationError(
            "the demo creates a staff user with a printed password, so it runs only with the "
            "billing sandbox (TIERGATE_SANDBOX=1) or in debug mode (TIERGATE_DEBUG=1)"
        )


def reset_demo_staff(email: str = DEMO_STAFF_EMAIL) -> DemoStaff:
    """Create the demo staff user, or give the existing one a new password and staff rights."""
    password = secrets.token_urlsafe(12)
    actor = Actor.system("demo")
    user = find_user(email)
    if user is None:
        user = create_user(
            email, password=password, display_name=DEMO_STAFF_NAME, is_staff=True, actor=actor
        )
        # The demo's address receives nothing: it counts as confirmed.
        user.email_verified_at = utcnow()
        return DemoStaff(user, password, created=True)
    user.password_hash = hash_password(password)
    user.is_staff = True
    user.is_active = True
    user.email_verified_at = user.email_verified_at or utcnow()
    # A fresh password also lifts any log-in throttle left from an earlier session.
    db.session.execute(sa.delete(LoginFailure).where(LoginFailure.email == user.email))
    db.session.flush()
    record_audit_event(
        "user.demo_reset",
        actor=actor,
        target_type="user",
        target_id=user.id,
        after={"is_staff": True, "is_active": True, "password": "reset"},
    )
    return DemoStaff(user, password, created=False)


def prepare_demo() -> tuple[list[str], DemoStaff]:
    """Load the demo catalog and reset the staff user; return the catalog summary lines."""
    source, text = read_catalog(None)
    with acting_as(Actor.system("demo")):
        summary = load_catalog(parse_yaml(text, source), source=source)
    return summary.lines(), reset_demo_staff()


def _echo_welcome(url: str, staff: DemoStaff) -> None:
    click.echo("")
    click.echo("tiergate demo (billing sandbox: no real payment is ever taken)")
    rows = [
        ("pricing", f"{url}/pricing"),
        ("sign up", f"{url}/signup"),
        ("staff console", f"{url}/admin"),
        ("API docs", f"{url}/api/v1/docs"),
        ("staff e-mail", staff.user.email),
        ("staff password", staff.password),
        ("e-mail", describe_delivery(current_app)),
        ("sent e-mail", f"{url}/outbox"),
    ]
    for label, value in rows:
        click.echo(f"  {label + ':':<16}{value}")
    click.echo("  (demo only: the password changes every time the demo starts)")
    click.echo("")


@click.command("demo")
@listen_options
@click.option("--no-serve", is_flag=True, help="Prepare the database and the user, then exit.")
@with_appcontext
def demo_command(host: str, port: int, workers: int, no_serve: bool) -> None:
    """Migrate, load the demo catalog, reset the demo staff user and serve (sandbox only)."""
    try:
        require_demo_mode()
    except ConfigurationError as error:
        raise click.ClickException(error.message) from None
    upgrade_database("heads")
    with command_transaction():
        lines, staff = prepare_demo()
    for line in lines:
        click.echo(line)
    url = server_url(host, port)
    _echo_welcome(url, staff)
    if no_serve:
        return
    # The workers are forked from this process: they must not inherit its connections.
    db.session.remove()
    db.engine.dispose()
    run_server(host, port, workers, reload=False)
