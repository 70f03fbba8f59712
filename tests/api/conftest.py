from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ..conftest import http_client
from .support import World, build_world


@pytest.fixture
def world(app: Flask) -> World:
    """The app with two accounts, people in every role and API keys."""
    return build_world()


@pytest.fixture
def new_client(app: Flask) -> Callable[[], FlaskClient]:
    """Return a factory of clients, one per simulated browser or API caller."""
    return lambda: http_client(app)
