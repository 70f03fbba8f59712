"""Acting as a browser in the page, console and API tests: CSRF tokens and log-ins."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from tiergate.db import begin_write_transaction, db
from tiergate.standalone.sessions import start_session
from tiergate.standalone.users import User, find_user

from .accounts.factories import PASSWORD

_TOKEN_INPUT = re.compile(r'<input[^>]*\bname="csrf_token"[^>]*>')
_VALUE = re.compile(r'\bvalue="([^"]+)"')


def csrf_token(page: str) -> str:
    """Return the CSRF token of the first form on ``page``, as a browser would send it."""
    tag = _TOKEN_INPUT.search(page)
    assert tag, "the page has no form with a CSRF token"
    value = _VALUE.search(tag.group(0))
    assert value, tag.group(0)
    return value.group(1)


def log_in(client: FlaskClient, who: User | str) -> None:
    """Start a session for a user (or an e-mail), as a completed log-in does, and commit.

    The log-in form itself is tested apart (``log_in_with_form``); this skips the password,
    so the users need none and no test pays for hashing one. The session row is real, so
    logging out ends it as it ends any other.
    """
    user = who if isinstance(who, User) else find_user(who)
    assert user is not None, who
    # SQLite: a transaction that has read cannot become a writer once another connection
    # wrote; take the write lock first (a read-only transaction is restarted).
    begin_write_transaction()
    session_id = start_session(db.session.merge(user))
    db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = session_id
        session["_fresh"] = True


def log_in_with_form(client: FlaskClient, email: str) -> None:
    """Log in through the log-in page (the user needs the password ``PASSWORD``)."""
    token = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302, response.get_data(as_text=True)


def csrf_token_of(client: FlaskClient, path: str = "/login") -> str:
    """Fetch the page at ``path`` and return the CSRF token of its first form."""
    return csrf_token(client.get(path).get_data(as_text=True))
