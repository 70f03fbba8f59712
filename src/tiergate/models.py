"""Where tiergate's tables are declared: its own metadata and its optional branches'.

Importing a model module only declares classes; these functions import them on demand so
that an application's ``import tiergate`` loads none of them.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa


def metadata() -> sa.MetaData:
    """Return the metadata of tiergate's own tables, every model module imported."""
    from .accounts import models as _accounts  # noqa: F401
    from .audit import models as _audit  # noqa: F401
    from .billing import models as _billing  # noqa: F401
    from .billing.webhooks import models as _webhooks  # noqa: F401
    from .catalog import models as _catalog  # noqa: F401
    from .db import Base
    from .entitlements import models as _entitlements  # noqa: F401
    from .limits import models as _limits  # noqa: F401
    from .mail import models as _mail  # noqa: F401

    return Base.metadata


def sandbox_metadata() -> sa.MetaData:
    """Return the metadata of the offline sandbox's tables."""
    from .billing.providers.sandbox.models import SandboxBase

    return SandboxBase.metadata


def standalone_metadata() -> sa.MetaData:
    """Return the metadata of the standalone app's users and log-in failures."""
    from .standalone import demo_projects as _demo_projects  # noqa: F401
    from .standalone.users import StandaloneBase

    return StandaloneBase.metadata


#: Optional migration branches: name -> its tables' metadata.
BRANCH_METADATA: dict[str, Callable[[], sa.MetaData]] = {
    "sandbox": sandbox_metadata,
    "standalone": standalone_metadata,
}


def branch_metadatas(branches: list[str]) -> list[sa.MetaData]:
    """Return the metadata of these migration branches ("tiergate" is tiergate's own)."""
    return [metadata() if name == "tiergate" else BRANCH_METADATA[name]() for name in branches]


def import_listeners() -> None:
    """Import the modules that declare session listeners (see ``db.session_listener``)."""
    from .audit import listeners as _audit  # noqa: F401
    from .billing.lifecycle import billed_twice as _billed_twice  # noqa: F401
    from .billing.providers import resolve as _resolve  # noqa: F401
    from .billing.webhooks import services as _webhooks  # noqa: F401
    from .entitlements import versions as _versions  # noqa: F401
    from .limits import outbox as _outbox  # noqa: F401
    from .mail import worker as _mail_worker  # noqa: F401

    metadata()


#: PostgreSQL only: indexes on expressions behind the console's searches (pg_trgm for substrings,
#: a pattern index on a lower-cased label for prefixes), name -> table. Created by migrations
#: 0010 and u005 with raw SQL, so they are not in the models and autogenerate leaves them alone.
SEARCH_INDEXES: dict[str, str] = {
    "ix_tiergate_account_name_trgm": "tiergate_account",
    "ix_tiergate_account_slug_trgm": "tiergate_account",
    "ix_tiergate_audit_event_actor_label_prefix": "tiergate_audit_event",
    "ix_tiergate_user_email_trgm": "tiergate_user",
}


def table_names() -> set[str]:
    """Every table name tiergate may create, branches included, and its version table."""
    names = {"tiergate_alembic_version"}
    for meta in (metadata(), *(branch() for branch in BRANCH_METADATA.values())):
        names.update(meta.tables)
    return names


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Leave tiergate's tables out of an application's autogenerate (Alembic ``include_object``).

    ``Migrate(app, db, include_object=tiergate.include_object)``: the application's
    ``flask db migrate`` then proposes nothing about tables that tiergate's own migrations
    manage.
    """
    if type_ == "table":
        return name not in table_names()
    table = getattr(obj, "table", None)
    return getattr(table, "name", None) not in table_names()
