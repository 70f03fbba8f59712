"""``TierGate``: tiergate as a Flask extension on the application's own database and users.

    db = SQLAlchemy()
    tiergate = TierGate()

    def create_app():
        app = Flask(__name__)
        db.init_app(app)
        tiergate.init_app(app, db=db, user_model=User)

Everything tiergate adds to an application happens in ``init_app``: its settings
(``TIERGATE_*``, with ``setdefault``), connection settings and listeners on the given
database only, its blueprints where the application mounts them, and one ``flask tiergate``
command group. State lives in ``app.extensions["tiergate"]``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Flask
from flask_sqlalchemy import SQLAlchemy

from .errors import ConfigurationError

#: The parts of tiergate an application can mount, each under a URL prefix of its choice
#: (``""`` for the paths as documented), or leave out (``None``).
MOUNTABLE = ("pages", "account", "admin", "api", "webhooks")
DEFAULT_MOUNT: Mapping[str, str | None] = {part: "" for part in MOUNTABLE}


def _flask_login_user() -> Any | None:
    """The logged-in user of Flask-Login, or None (the default ``current_user``)."""
    from flask_login import current_user

    if not current_user or not current_user.is_authenticated:
        return None
    return current_user._get_current_object()


def _is_staff_attribute(user: Any) -> bool:
    """A user is staff when its ``is_staff`` attribute is true (the default ``is_staff``)."""
    return bool(getattr(user, "is_staff", False))


@dataclass
class TierGateState:
    """What tiergate keeps per application, in ``app.extensions["tiergate"]``."""

    db: SQLAlchemy
    user_model: Any
    current_user: Callable[[], Any | None]
    is_staff: Callable[[Any], bool]
    #: The account a request acts for, or None for tiergate's own rule (docs/embedding.md).
    account_for_request: Callable[[], int | None] | None
    mount: dict[str, str | None]
    #: How an invited visitor signs up and joins at once (None: they log in first).
    invitation_signup: Any = None
    #: Extra migration branches (the sandbox's, the standalone users') besides tiergate's own.
    migration_branches: list[str] = field(default_factory=list)


class TierGate:
    """The tiergate extension: ``TierGate(app, db=..., user_model=...)`` or ``init_app``."""

    def __init__(self, app: Flask | None = None, **options: Any) -> None:
        self._options = options
        if app is not None:
            self.init_app(app, **options)

    def init_app(
        self,
        app: Flask,
        *,
        db: SQLAlchemy | None = None,
        user_model: Any = None,
        current_user: Callable[[], Any | None] | None = None,
        is_staff: Callable[[Any], bool] | None = None,
        account_for_request: Callable[[], int | None] | None = None,
        mount: Mapping[str, str | None] | None = None,
        cli_group: bool = True,
    ) -> TierGateState:
        """Bind tiergate to ``app``: its database ``db`` and its users ``user_model``."""
        options = {**self._options}
        db = db or options.get("db")
        user_model = user_model or options.get("user_model")
        if "tiergate" in app.extensions:
            raise ConfigurationError("TierGate is already initialised on this application")
        if not isinstance(db, SQLAlchemy):
            raise ConfigurationError(
                "TierGate.init_app needs db=<the application's flask_sqlalchemy.SQLAlchemy>"
            )
        registered: object = app.extensions.get("sqlalchemy")
        if registered is not db:
            raise ConfigurationError(
                "call db.init_app(app) before TierGate.init_app(app, db=db, ...)"
            )
        check_user_model(user_model)
        parts = dict(DEFAULT_MOUNT if mount is None else mount)
        unknown = sorted(set(parts) - set(MOUNTABLE))
        if unknown:
            raise ConfigurationError(
                f"unknown part(s) to mount: {', '.join(unknown)}; use {', '.join(MOUNTABLE)}"
            )
        from .config import apply_defaults

        apply_defaults(app)
        state = TierGateState(
            db=db,
            user_model=user_model,
            current_user=current_user or options.get("current_user") or _flask_login_user,
            is_staff=is_staff or options.get("is_staff") or _is_staff_attribute,
            account_for_request=account_for_request or options.get("account_for_request"),
            mount=parts,
        )
        if app.config["TIERGATE_SANDBOX"]:
            state.migration_branches.append("sandbox")
        check_table_collisions(db, state)
        app.extensions["tiergate"] = state
        _bind_database(app, db)
        _bind_entitlements(app)
        from .billing.lifecycle.settle import connect_lifecycle

        connect_lifecycle(app)
        from .limits.outbox import connect_meter_outbox

        connect_meter_outbox(app)
        from .mail.worker import init_mail

        init_mail(app)
        from .billing.webhooks.applier import connect_applier

        connect_applier(app)
        from .web.mount import mount_blueprints

        mount_blueprints(app, state)
        if cli_group:
            from .commands import tiergate_group

            app.cli.add_command(tiergate_group())
        return state


def check_user_model(user_model: Any) -> None:
    """Refuse a user model tiergate cannot refer to: it needs an integer ``id`` and ``email``."""
    if user_model is None:
        raise ConfigurationError(
            "TierGate.init_app needs user_model=<the application's user model class>"
        )
    try:
        mapper = sa.inspect(user_model)
    except sa.exc.NoInspectionAvailable:
        raise ConfigurationError(
            f"user_model={user_model!r} is not a mapped SQLAlchemy model class"
        ) from None
    keys = mapper.primary_key
    if len(keys) != 1 or keys[0].name != "id" or not isinstance(keys[0].type, sa.Integer):
        raise ConfigurationError(
            f"user_model {user_model.__name__}: tiergate refers to users by an integer primary "
            "key named id"
        )
    if "email" not in mapper.columns:
        raise ConfigurationError(
            f"user_model {user_model.__name__} has no email column: tiergate matches "
            "invitations and staff searches by e-mail"
        )


def tiergate_metadatas(state: TierGateState) -> list[sa.MetaData]:
    """Return the metadata of tiergate's tables for this app: its own and enabled branches'."""
    from .models import BRANCH_METADATA, metadata

    return [metadata(), *(BRANCH_METADATA[name]() for name in state.migration_branches)]


def check_table_collisions(db: SQLAlchemy, state: TierGateState) -> None:
    """Refuse an application whose own models define a table of tiergate's, naming it."""
    ours = {name for meta in tiergate_metadatas(state) for name in meta.tables}
    theirs: set[str] = set()
    for meta in db.metadatas.values():
        theirs.update(meta.tables)
    user_table = getattr(state.user_model, "__table__", None)
    shared = sorted((ours & theirs) - {getattr(user_table, "name", None)})
    if shared:
        raise ConfigurationError(
            f"the application's own models define tiergate's table(s) {', '.join(shared)}: "
            "remove those models (after `flask tiergate db adopt` for the seed's catalog "
            "tables, see docs/embedding.md); tiergate never shares a table"
        )


def _bind_database(app: Flask, db: SQLAlchemy) -> None:
    """Configure the app's engines and attach tiergate's session listeners to ``db``."""
    from .db import attach_session_listeners, configure_engine
    from .models import import_listeners

    with app.app_context():
        engines = list(db.engines.values())
    for engine in engines:
        configure_engine(engine)
    import_listeners()
    attach_session_listeners(db)


def _bind_entitlements(app: Flask) -> None:
    from .entitlements.cache import EntitlementsCache
    from .entitlements.decorators import can, current_entitlements
    from .entitlements.policy import AccessPolicy
    from .entitlements.services import register_cache
    from .entitlements.versions import CACHE_KEY

    cache = EntitlementsCache(
        AccessPolicy.from_config(app.config),
        recheck_seconds=float(app.config["TIERGATE_ENTITLEMENTS_RECHECK_SECONDS"]),
    )
    app.extensions[CACHE_KEY] = cache
    register_cache(cache)
    app.add_template_global(can, "can")
    from .limits.pages import register_template_globals

    register_template_globals(app)
    app.jinja_env.globals.setdefault("current_entitlements", current_entitlements)


def parent_blueprint(static_url_path: str) -> Blueprint:
    """A fresh ``tiergate`` blueprint for one application: the package's templates and assets."""
    return Blueprint(
        "tiergate",
        __name__,
        template_folder="templates",
        static_folder="static",
        static_url_path=static_url_path,
    )
