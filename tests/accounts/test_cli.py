"""The accounts, users and audit commands, through Flask's CLI runner."""

from __future__ import annotations

import sqlalchemy as sa

from tiergate.accounts.seats import add_member
from tiergate.billing.models import Subscription
from tiergate.db import begin_write_transaction, db
from tiergate.standalone.users import User, verify_password

from .factories import DAY, NOW, SYSTEM, make_account, make_catalog, make_user, subscribe


def test_users_create_with_a_prompted_password(runner):
    result = runner.invoke(
        args=["users", "create", " Ada@Example.COM ", "--staff"], input="s3cret-pass\ns3cret-pass\n"
    )
    assert result.exit_code == 0, result.output
    assert "Created staff user ada@example.com" in result.output
    user = db.session.scalars(sa.select(User)).one()
    assert user.is_staff and verify_password(user, "s3cret-pass")
    assert not verify_password(user, "wrong-pass")


def test_users_create_refuses_a_taken_email(runner):
    make_user("ada@example.com")
    db.session.commit()
    result = runner.invoke(args=["users", "create", "ADA@example.com", "--password", "longenough"])
    assert result.exit_code == 1
    assert "already exists" in result.output
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 1


def test_accounts_create_list_and_show(runner):
    make_catalog()
    make_user("owner@acme.test")
    db.session.commit()
    result = runner.invoke(args=["accounts", "create", "Acme Inc", "--owner", "owner@acme.test"])
    assert result.exit_code == 0, result.output
    assert "Created account acme-inc" in result.output
    listed = runner.invoke(args=["accounts", "list"])
    assert "acme-inc\tAcme Inc\tfree\tseats 1/1" in listed.output
    shown = runner.invoke(args=["accounts", "show", "acme-inc"])
    assert "tier: free" in shown.output and "member: owner@acme.test (owner)" in shown.output


def test_grant_and_revoke(runner):
    make_catalog()
    make_user("admin@tiergate.test", staff=True)
    account = make_account("acme")
    result = runner.invoke(
        args=[
            "accounts",
            "grant",
            "acme",
            "partner",
            "--reason",
            "pilot",
            "--expires",
            "2099-01-31",
            "--as",
            "admin@tiergate.test",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Granted partner to acme until 2099-01-31" in result.output
    grant = db.session.scalars(sa.select(Subscription)).one()
    granted_by = db.session.get(User, grant.granted_by_id)
    assert (grant.tier.key, grant.grant_reason, granted_by.email) == (
        "partner",
        "pilot",
        "admin@tiergate.test",
    )
    assert "tier: partner" in runner.invoke(args=["accounts", "show", str(account.id)]).output
    db.session.commit()
    revoked = runner.invoke(args=["accounts", "revoke", "acme", "--reason", "pilot over"])
    assert revoked.exit_code == 0, revoked.output
    db.session.refresh(grant)
    assert grant.status == "canceled"


def test_grant_refusals_name_the_problem(runner):
    make_catalog()
    make_account("acme")
    cases = [
        (["accounts", "grant", "acme", "platinum", "--reason", "x"], "There is no tier “platinum”"),
        (["accounts", "grant", "acme", "pro", "--reason", "x"], "sold through stripe"),
        (["accounts", "grant", "nope", "partner", "--reason", "x"], "no account 'nope'"),
        (
            ["accounts", "grant", "acme", "partner", "--reason", "x", "--expires", "2001-01-01"],
            "not in the future",
        ),
        (
            ["accounts", "grant", "acme", "partner", "--reason", "x", "--expires", "tomorrow"],
            "is not a date",
        ),
        (["accounts", "grant", "acme", "partner"], "Missing option '--reason'"),
        (
            ["accounts", "grant", "acme", "partner", "--reason", "x", "--as", "nobody@x.test"],
            "is not a staff user",
        ),
        (["accounts", "revoke", "acme", "--reason", "x"], "no active exempt grant"),
    ]
    for args, message in cases:
        result = runner.invoke(args=args)
        assert result.exit_code != 0, args
        assert message in result.output, (args, result.output)
    assert db.session.scalar(sa.select(sa.func.count(Subscription.id))) == 0


def test_show_reports_an_account_over_its_limit(runner):
    make_catalog()
    account = make_account("acme", owner="owner@acme.test")
    subscribe(account, "pro", updated_at=NOW - 2 * DAY)
    users = [make_user(email) for email in ("a@acme.test", "b@acme.test")]
    db.session.commit()
    for user in users:
        begin_write_transaction()
        add_member(account, user, actor=SYSTEM)
        db.session.commit()
    subscribe(account, "pro", status="canceled", updated_at=NOW - DAY)
    shown = runner.invoke(args=["accounts", "show", "acme"])
    assert "seats: 3/1" in shown.output and "over the seat limit" in shown.output


def test_audit_tail(runner):
    make_catalog()
    make_account("acme")
    runner.invoke(args=["accounts", "grant", "acme", "partner", "--reason", "pilot"])
    result = runner.invoke(args=["audit", "tail", "-n", "2"])
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 2
    assert "system:cli  subscription.granted  subscription:" in lines[-1]
    assert '"grant_reason": "pilot"' in lines[-1]
    only = runner.invoke(args=["audit", "tail", "--target", "tier"]).output.strip().splitlines()
    assert only and all("  tier." in line and "  tier:" in line for line in only)
