"""What every `tiergate` command does alike: commit or roll back, and errors as messages."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy.exc import SQLAlchemyError

from .db import db
from .errors import TiergateError


@contextmanager
def command_transaction(*, commit: bool = True) -> Iterator[None]:
    """Commit the block (or roll a read-only one back); turn its errors into messages."""
    try:
        yield
    except TiergateError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    except SQLAlchemyError as error:
        db.session.rollback()
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        raise click.ClickException(
            f"database error: {reason} (is the database upgraded? run `tiergate db upgrade`)"
        ) from None
    except BaseException:
        db.session.rollback()
        raise
    if commit:
        db.session.commit()
    else:
        db.session.rollback()
