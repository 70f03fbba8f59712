"""Log-in throttling behind a proxy, per address and per e-mail, atomic under parallel posts."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tiergate.accounts.models import Account
from tiergate.accounts.seats import invite_member
from tiergate.db import begin_write_transaction, db, utcnow
from tiergate.standalone import auth, users
from tiergate.standalone.users import LoginFailure

from ..accounts.factories import PASSWORD, SYSTEM, make_account, make_catalog, subscribe
from ..backends import BACKENDS
from ..browsing import csrf_token_of
from ..conftest import app_on_copy, http_client
from .support import count, post_form

OWNER = "owner@acme.test"


@pytest.fixture
def proxied_app(tmp_path: Path, sqlite_template: Path) -> Iterator[Flask]:
    """The standalone app behind one trusted proxy (TIERGATE_TRUSTED_PROXIES=1)."""
    yield from app_on_copy(tmp_path, sqlite_template, TIERGATE_TRUSTED_PROXIES=1)


def behind_proxy(app: Flask, client_address: str) -> FlaskClient:
    """A browser at ``client_address`` whose requests all come through the proxy 10.0.0.1."""
    client = http_client(app)
    client.environ_base["REMOTE_ADDR"] = "10.0.0.1"
    client.environ_base["HTTP_X_FORWARDED_FOR"] = client_address
    return client


def fail(client: FlaskClient, times: int, email: str = OWNER) -> list[int]:
    return [
        post_form(client, "/login", {"email": email, "password": "guess"}).status_code
        for _ in range(times)
    ]


def log_in(client: FlaskClient, email: str = OWNER) -> Any:
    return post_form(client, "/login", {"email": email, "password": PASSWORD})


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_clients(proxied_app: Flask):
    make_catalog()
    make_account("acme", owner=OWNER)
    attacker = behind_proxy(proxied_app, "203.0.113.9")
    assert fail(attacker, 5) == [422] * 5
    assert log_in(attacker).status_code == 429
    db.session.rollback()
    assert set(db.session.scalars(sa.select(LoginFailure.ip_address))) == {"203.0.113.9"}
    # The owner, through the same proxy from another address, is not locked out.
    assert log_in(behind_proxy(proxied_app, "198.51.100.4")).status_code == 302


def test_without_trusted_proxies_a_forwarded_address_is_ignored(app: Flask, catalog: None):
    make_account("acme", owner=OWNER)
    spoofer = http_client(app)
    spoofer.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.4"
    fail(spoofer, 1)
    db.session.rollback()
    assert db.session.scalar(sa.select(LoginFailure.ip_address)) == "127.0.0.1"


def test_five_failures_from_an_attacker_do_not_stop_the_owner(app: Flask, catalog: None):
    make_account("acme", owner=OWNER)
    attacker = http_client(app)
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    assert fail(attacker, 5) == [422] * 5
    assert log_in(attacker).status_code == 429
    owner = http_client(app)
    owner.environ_base["REMOTE_ADDR"] = "198.51.100.4"
    assert log_in(owner).status_code == 302


def test_failures_for_one_email_from_many_addresses_only_delay(app: Flask, catalog: None):
    make_account("acme", owner=OWNER)
    for number in range(12):  # a botnet: two guesses from each of six addresses
        bot = http_client(app)
        bot.environ_base["REMOTE_ADDR"] = f"203.0.113.{number // 2 + 1}"
        fail(bot, 1)
    owner = http_client(app)
    owner.environ_base["REMOTE_ADDR"] = "198.51.100.4"
    delayed = log_in(owner)
    assert delayed.status_code == 429
    assert 0 < int(delayed.headers["Retry-After"]) <= 60
    # Once the short delay has passed, the owner gets in (no 15-minute lock).
    db.session.execute(sa.update(LoginFailure).values(created_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    final = log_in(owner)
    assert final.status_code == 302, final.get_data(as_text=True)


def test_one_address_trying_many_emails_is_blocked(app: Flask, catalog: None):
    make_account("acme", owner=OWNER)
    sprayer = http_client(app)
    statuses = [fail(sprayer, 1, email=f"user{n}@acme.test")[0] for n in range(21)]
    assert statuses[:20] == [422] * 20 and statuses[20] == 429
    # Another address is unaffected.
    owner = http_client(app)
    owner.environ_base["REMOTE_ADDR"] = "198.51.100.4"
    assert log_in(owner).status_code == 302


class LockProbe:
    """A password hasher that, before hashing or verifying, checks nobody holds the write lock."""

    def __init__(self, hasher: Any, database: str) -> None:
        self.hasher = hasher
        self.database = database
        self.locked: list[str] = []
        self.calls = 0

    def _probe(self, what: str) -> None:
        self.calls += 1
        connection = sqlite3.connect(self.database, timeout=0, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("ROLLBACK")
        except sqlite3.OperationalError as error:
            self.locked.append(f"{what}: {error}")
        finally:
            connection.close()

    def hash(self, password: str) -> str:
        self._probe("hash")
        return str(self.hasher.hash(password))

    def verify(self, password_hash: str, password: str) -> bool:
        self._probe("verify")
        return bool(self.hasher.verify(password_hash, password))


@pytest.fixture
def lock_probe(app: Flask, monkeypatch: pytest.MonkeyPatch) -> LockProbe:
    database = app.config["TIERGATE_DATABASE_URL"].removeprefix("sqlite:///")
    probe = LockProbe(users._password_hasher(), database)
    monkeypatch.setattr(users, "_password_hasher", lambda: probe)
    return probe


def test_no_write_lock_is_held_while_argon2_runs(app: Flask, catalog: None, lock_probe):
    make_account("acme", owner=OWNER)
    browser = http_client(app)
    assert fail(browser, 1) == [422]
    assert log_in(browser).status_code == 302
    signup = {
        "email": "new@example.test",
        "account_name": "New",
        "password": "a long new password",
        "confirm": "a long new password",
    }
    assert post_form(http_client(app), "/signup", signup).status_code == 302
    # Joining by invitation signs up too: its hash is computed before the seat's write lock.
    begin_write_transaction()
    account = db.session.scalars(sa.select(Account).where(Account.slug == "acme")).one()
    subscribe(account, "pro")  # a free seat for the invitation
    begin_write_transaction()
    _, token = invite_member(account, "invited@example.test", actor=SYSTEM)
    db.session.commit()
    joined = post_form(
        http_client(app),
        f"/invitations/{token}",
        {"password": "another long password", "confirm": "another long password"},
    )
    assert joined.status_code == 302
    assert lock_probe.calls >= 4
    assert lock_probe.locked == []


ATTEMPTS = 12


@pytest.mark.parametrize("backend", BACKENDS)
def test_parallel_wrong_passwords_verify_at_most_the_limit(
    backend: str,
    backend_app: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    factory: AbstractContextManager[Flask] = backend_app(backend)
    with factory as application:
        make_catalog()
        make_account("acme", owner=OWNER)
        verified: list[str] = []
        lock = threading.Lock()
        original = auth.verify_password

        def slow_verify(user: Any, password: str) -> bool:
            with lock:
                verified.append(password)
            time.sleep(0.05)  # widens the window between reading and recording failures
            return original(user, password)

        monkeypatch.setattr(auth, "verify_password", slow_verify)
        clients = [http_client(application) for _ in range(ATTEMPTS)]
        tokens = [csrf_token_of(client, "/login") for client in clients]
        start = threading.Barrier(ATTEMPTS)
        statuses: list[int] = []

        def attempt(client: FlaskClient, token: str) -> None:
            start.wait()
            data = {"email": OWNER, "password": "guess", "csrf_token": token}
            response = client.post("/login", data=data)
            with lock:
                statuses.append(response.status_code)

        threads = [
            threading.Thread(target=attempt, args=pair)
            for pair in zip(clients, tokens, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        print(f"{backend}: {len(verified)} passwords verified of {ATTEMPTS} attempts")
        assert sorted(statuses) == [422] * 5 + [429] * (ATTEMPTS - 5)
        assert len(verified) == 5
        assert count(LoginFailure) == 5
