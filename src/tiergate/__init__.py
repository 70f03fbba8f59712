"""tiergate: subscription tiers, permissions and billing for Flask applications.

    from tiergate import TierGate
    tiergate = TierGate()
    tiergate.init_app(app, db=db, user_model=User)

``create_app`` builds the standalone application (tiergate's own users and pages, settings
from the environment); ``include_object`` keeps tiergate's tables out of an application's own
Alembic autogenerate.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .extension import TierGate
from .models import include_object

if TYPE_CHECKING:
    from flask import Flask

__version__ = "0.1.0"
__all__ = ["TierGate", "__version__", "create_app", "include_object"]


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Create the standalone tiergate application (see ``tiergate.standalone``)."""
    import click

    from .errors import ConfigurationError
    from .standalone import create_app as create_standalone_app

    try:
        return create_standalone_app(config)
    except ConfigurationError as error:
        if click.get_current_context(silent=True) is None:
            raise
        # `flask --app tiergate ...`: Flask prints its own one-line error, not a traceback.
        from flask.cli import NoAppException

        raise NoAppException(error.message) from None
