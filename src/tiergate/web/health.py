"""The health check: does the database answer, and is it migrated to the code's head?"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from ..migrate import BRANCH_DIRS, MIGRATIONS_DIR, VERSION_TABLE, branches

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScriptRevisions:
    """The migration scripts shipped with the code, for the app's enabled branches."""

    #: The head of each enabled branch.
    heads: frozenset[str]
    #: Every shipped revision, of any branch.
    known: frozenset[str]
    #: The revisions of the enabled branches.
    enabled: frozenset[str]


def _revisions(names: list[str] | tuple[str, ...]) -> frozenset[str]:
    locations = [str(BRANCH_DIRS[name]) for name in names]
    script = ScriptDirectory(str(MIGRATIONS_DIR), version_locations=locations)
    return frozenset(revision.revision for revision in script.walk_revisions())


@functools.cache
def _script_revisions(enabled: tuple[str, ...]) -> ScriptRevisions:
    # Read once per process and set of branches: the shipped scripts cannot change at run time.
    locations = [str(BRANCH_DIRS[name]) for name in enabled]
    script = ScriptDirectory(str(MIGRATIONS_DIR), version_locations=locations)
    return ScriptRevisions(
        heads=frozenset(script.get_heads()),
        known=_revisions(tuple(BRANCH_DIRS)),
        enabled=_revisions(enabled),
    )


def script_revisions() -> ScriptRevisions:
    """Return the shipped migration scripts as the current app sees them."""
    return _script_revisions(tuple(branches()))


def _label(revisions: frozenset[str] | set[str]) -> str:
    return ",".join(sorted(revisions)) or "base"


def database_health(engine: sa.Engine) -> tuple[int, dict[str, Any]]:
    """Return the HTTP status and JSON body of the health check for ``engine``'s database."""
    expected = script_revisions()
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
            context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
            # A branch the app no longer enables (the sandbox's) leaves its revision behind.
            current = set(context.get_current_heads()) - (expected.known - expected.enabled)
    except sa.exc.SQLAlchemyError as error:
        # The driver's message can name hosts and users: it goes to the log, not to the
        # (possibly public) response.
        logger.warning("health check: database unreachable: %s", error)
        return 503, {
            "status": "error",
            "database": "unreachable",
            "migrations": "unknown",
            "message": f"database unreachable ({type(error).__name__}): see the server log",
        }
    if current == expected.heads:
        return 200, {
            "status": "ok",
            "database": "ok",
            "migrations": "head",
            "revision": _label(current),
        }
    return 503, _migration_problem(current, expected)


def _migration_problem(current: set[str], expected: ScriptRevisions) -> dict[str, Any]:
    at, wants = _label(current), _label(expected.heads)
    if current - expected.known:
        migrations = "unknown"
        message = (
            f"database at revision {at}, which this code does not know (code expects {wants}): "
            "it was migrated by a newer tiergate; run that version"
        )
    else:
        migrations = "behind"
        message = f"database at revision {at}, code expects {wants}: run `tiergate db upgrade`"
    return {
        "status": "error",
        "database": "ok",
        "migrations": migrations,
        "revision": at,
        "message": message,
    }
