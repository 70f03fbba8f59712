from __future__ import annotations

import pytest
from flask import Flask

from ..accounts.factories import make_catalog


@pytest.fixture
def catalog_app(app: Flask) -> Flask:
    """The app with the test catalog loaded."""
    make_catalog()
    return app
