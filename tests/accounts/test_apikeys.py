"""API keys: shown once, stored hashed, scoped, revocable; the `tiergate apikeys` commands."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskCliRunner

from tiergate.accounts.apikeys import (
    LAST_USED_RESOLUTION,
    authenticate_api_key,
    create_api_key,
    mark_api_key_used,
    revoke_api_key,
)
from tiergate.accounts.models import ApiKey
from tiergate.audit.models import AuditEvent
from tiergate.db import db, utcnow
from tiergate.errors import ValidationError

from ..conftest import http_client
from .factories import SYSTEM, allow_api, make_account, make_catalog


@pytest.fixture
def acme(app: Flask):
    make_catalog()
    allow_api("free")  # acme's keys call the API (the plan rule has its own tests)
    return make_account("acme", owner="owner@acme.test")


def test_a_key_is_shown_once_and_stored_as_its_hash(acme) -> None:
    key, token = create_api_key("ci", account=acme, actor=SYSTEM)
    db.session.commit()
    assert token.startswith("tg_") and len(token) > 40
    assert key.key_hash == hashlib.sha256(token.encode()).hexdigest()
    assert key.prefix == token[:11] and key.account_id == acme.id
    stored = [str(value) for value in db.session.execute(sa.select(ApiKey.__table__)).one()]
    audit = [json.dumps(e.after) for e in db.session.scalars(sa.select(AuditEvent))]
    assert not any(token in text for text in stored + audit)


def test_authenticate_finds_only_live_keys(acme) -> None:
    key, token = create_api_key("ci", account=acme, actor=SYSTEM)
    staff_key, staff_token = create_api_key("ops", account=None, actor=SYSTEM)
    assert authenticate_api_key(token) is key
    assert authenticate_api_key(staff_token) is staff_key and staff_key.account_id is None
    assert authenticate_api_key(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert authenticate_api_key(token.removeprefix("tg_")) is None
    revoke_api_key(key, actor=SYSTEM)
    assert authenticate_api_key(token) is None
    with pytest.raises(ValidationError, match="already revoked"):
        revoke_api_key(key, actor=SYSTEM)


def test_a_key_needs_a_name(acme) -> None:
    with pytest.raises(ValidationError, match="name"):
        create_api_key("  ", account=acme, actor=SYSTEM)


def test_last_use_is_written_at_most_once_per_resolution(acme) -> None:
    key, _ = create_api_key("ci", account=acme, actor=SYSTEM)
    now = utcnow()
    assert mark_api_key_used(key, now) is True
    assert mark_api_key_used(key, now + LAST_USED_RESOLUTION / 2) is False
    assert key.last_used_at == now
    assert mark_api_key_used(key, now + LAST_USED_RESOLUTION) is True


def test_using_a_key_over_http_records_its_last_use(app: Flask, acme) -> None:
    key, token = create_api_key("ci", account=acme, actor=SYSTEM)
    db.session.commit()
    client = http_client(app)
    headers = {"Authorization": f"Bearer {token}"}
    assert (
        client.get(f"/api/v1/accounts/{acme.id}/entitlements", headers=headers).status_code == 200
    )
    db.session.rollback()
    first = db.session.get_one(ApiKey, key.id).last_used_at
    assert first is not None and utcnow() - first < timedelta(minutes=1)
    client.get(f"/api/v1/accounts/{acme.id}/entitlements", headers=headers)
    db.session.rollback()
    assert db.session.get_one(ApiKey, key.id).last_used_at == first  # no write per request


def _token(output: str) -> str:
    return next(line for line in output.splitlines() if line.startswith("tg_"))


def test_cli_creates_lists_and_revokes_keys(app: Flask, runner: FlaskCliRunner, acme) -> None:
    created = runner.invoke(args=["apikeys", "create", "--account", "acme", "--name", "ci"])
    assert created.exit_code == 0, created.output
    assert "cannot be shown again" in created.output
    token = _token(created.output)
    staff = runner.invoke(args=["apikeys", "create", "--staff", "--name", "ops"])
    assert staff.exit_code == 0 and "for staff" in staff.output
    listing = runner.invoke(args=["apikeys", "list"])
    assert token[:11] in listing.output and "\tacme\tci\t" in listing.output
    assert "\tstaff\tops\t" in listing.output and token not in listing.output
    client = http_client(app)
    headers = {"Authorization": f"Bearer {token}"}
    path = f"/api/v1/accounts/{acme.id}/entitlements"
    assert client.get(path, headers=headers).status_code == 200
    revoked = runner.invoke(args=["apikeys", "revoke", token[:11]])
    assert revoked.exit_code == 0, revoked.output
    assert client.get(path, headers=headers).status_code == 401
    assert "revoked" in runner.invoke(args=["apikeys", "list", "--account", "acme"]).output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "x"], "exactly one of --account"),
        (["--account", "acme", "--staff", "--name", "x"], "exactly one of --account"),
        (["--account", "nope", "--name", "x"], "no account 'nope'"),
        (["--account", "acme", "--name", ""], "needs a name"),
    ],
)
def test_cli_refuses_bad_input_and_creates_nothing(runner, acme, args, message) -> None:
    result = runner.invoke(args=["apikeys", "create", *args])
    assert result.exit_code != 0 and message in result.output
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(ApiKey.id))) == 0


def test_cli_revoke_of_an_unknown_key_fails(runner, acme) -> None:
    result = runner.invoke(args=["apikeys", "revoke", "999"])
    assert result.exit_code != 0 and "no API key" in result.output
