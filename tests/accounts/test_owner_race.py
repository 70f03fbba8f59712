"""Two owners demoting or removing each other at once: the account always keeps an owner.

Twenty threads on real concurrent connections, on SQLite, PostgreSQL and MariaDB. Each
thread reads its target membership first and only then calls the service, as the members
page does; on MariaDB that read fixes the REPEATABLE READ snapshot before the lock is taken.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask

from tiergate.accounts.members import change_role
from tiergate.accounts.models import Membership
from tiergate.accounts.seats import remove_member
from tiergate.audit.models import AuditEvent
from tiergate.audit.services import Actor
from tiergate.db import begin_write_transaction, db
from tiergate.errors import NotFound, ValidationError

from ..racing import race
from .factories import make_account, make_catalog, make_user, subscribe

ATTEMPTS = 20
TRIALS = 3
#: Which change the even and the odd threads make: the even ones target the first owner,
#: the odd ones the second.
COMBINATIONS = {
    "demote+demote": ("demote", "demote"),
    "remove+remove": ("remove", "remove"),
    "demote+remove": ("demote", "remove"),
}


def _two_owners(slug: str) -> tuple[int, int]:
    """Create an account with exactly two owners; return their membership ids."""
    account = make_account(slug, owner=f"first@{slug}.test", password=None)
    subscribe(account, "pro")
    second = make_user(f"second@{slug}.test", password=None)
    db.session.add(Membership(account_id=account.id, user_id=second.id, role="owner"))
    db.session.commit()
    ids = db.session.scalars(
        sa.select(Membership.id).where(Membership.account_id == account.id).order_by(Membership.id)
    ).all()
    return ids[0], ids[1]


def _act(action: str, membership_id: int, actor: Actor) -> str:
    """Demote or remove one owner the way the members page does; return the outcome.

    "done" includes repeating a demotion another thread already made (a no-op): the audit
    log tells which thread changed something.
    """
    begin_write_transaction()
    membership = db.session.get(Membership, membership_id)
    if membership is None:
        return "gone"
    try:
        if action == "demote":
            change_role(membership, "admin", manager_role="owner", actor=actor)
        else:
            remove_member(membership, actor=actor)
        db.session.commit()
        return "done"
    except ValidationError as error:
        assert "last owner" in error.message
        return "last_owner"
    except NotFound:
        return "gone"
    finally:
        db.session.rollback()


def _race(app: Flask, actions: tuple[str, str], owners: tuple[int, int]) -> list[str]:
    def attempt(index: int) -> str:
        actor = Actor.system(f"racer{index}")
        return _act(actions[index % 2], owners[index % 2], actor)

    return race(app, ATTEMPTS, attempt)


def _last_audit_id() -> int:
    return db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(AuditEvent.id), 0)))


def _assert_one_owner_left(outcomes: list[str], owners: tuple[int, int], since: int) -> None:
    """Exactly one thread demoted or removed an owner; every attempt on the other was refused."""
    db.session.rollback()
    left = db.session.scalars(
        sa.select(Membership.id).where(Membership.id.in_(owners), Membership.role == "owner")
    ).all()
    assert len(left) == 1, outcomes
    changed_by = db.session.scalars(
        sa.select(AuditEvent.actor_label).where(
            AuditEvent.id > since,  # SQLite reuses a deleted row's id in the next trial
            AuditEvent.target_type == "membership",
            AuditEvent.target_id.in_([str(owner) for owner in owners]),
            AuditEvent.action.in_(("membership.updated", "membership.deleted")),
        )
    ).all()
    assert len(changed_by) == 1, outcomes
    assert outcomes[int(changed_by[0].removeprefix("racer"))] == "done"
    assert set(outcomes) <= {"done", "last_owner", "gone"}
    # Every attempt on the owner who is left is refused: the account keeps its owner.
    assert outcomes.count("last_owner") == ATTEMPTS // 2, outcomes


def _run(app: Flask, combination: str) -> None:
    make_catalog()
    for trial in range(TRIALS):
        owners = _two_owners(f"acme{trial}")
        since = _last_audit_id()
        outcomes = _race(app, COMBINATIONS[combination], owners)
        _assert_one_owner_left(outcomes, owners, since)


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_owner_race_on_sqlite(app, combination):
    _run(app, combination)


@pytest.mark.parametrize("combination", COMBINATIONS)
@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_owner_race_on_a_server(backend_app, backend, combination):
    with backend_app(backend) as application:
        _run(application, combination)
