"""The request transaction: commit on success, roll back (and re-raise or keep) on failure."""

import pytest
import sqlalchemy as sa

from tiergate.catalog.models import Permission
from tiergate.db import db, refusable_transaction, request_transaction
from tiergate.errors import Conflict, NotFound, TiergateError


def write_permission(key):
    # As a service does: write and flush, never commit.
    db.session.add(Permission(key=key, name=key.title()))
    db.session.flush()


def committed(key):
    """Tell whether another connection sees the permission ``key``, i.e. it was committed."""
    with db.engine.connect() as connection:
        query = sa.select(sa.func.count()).where(Permission.__table__.c.key == key)
        return connection.scalar(query) == 1


def test_commits_when_the_block_ends_normally(app):
    with request_transaction():
        write_permission("reports.export")
    assert committed("reports.export")
    assert not db.session().in_transaction()


@pytest.mark.parametrize(
    "error", [Conflict("taken"), RuntimeError("bug"), sa.exc.OperationalError("x", {}, None)]
)
def test_rolls_back_and_reraises_any_exception(app, error):
    with pytest.raises(type(error)), request_transaction():
        write_permission("reports.export")
        raise error
    assert not db.session().in_transaction()
    assert not committed("reports.export")


def test_nothing_of_a_failed_block_is_committed_later(app):
    with pytest.raises(Conflict), request_transaction():
        write_permission("reports.export")
        raise Conflict("taken")
    with request_transaction():
        write_permission("reports.import")
    assert committed("reports.import")
    assert not committed("reports.export")
    assert db.session.scalar(sa.select(Permission.key)) == "reports.import"


def test_refusable_commits_and_reports_no_error(app):
    with refusable_transaction(TiergateError) as refused:
        write_permission("reports.export")
    assert refused.error is None
    assert committed("reports.export")


def test_refusable_keeps_the_refusal_and_rolls_back(app):
    error = NotFound("no such tier")
    with refusable_transaction(TiergateError) as refused:
        write_permission("reports.export")
        raise error
    assert refused.error is error
    assert not db.session().in_transaction()
    assert not committed("reports.export")


@pytest.mark.parametrize("error", [Conflict("taken"), RuntimeError("bug")])
def test_refusable_reraises_what_it_does_not_catch(app, error):
    with pytest.raises(type(error)), refusable_transaction(NotFound):
        write_permission("reports.export")
        raise error
    assert not db.session().in_transaction()
    assert not committed("reports.export")
