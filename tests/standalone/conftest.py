"""The standalone app's tests: a catalog to build accounts on."""

from __future__ import annotations

import pytest
from flask import Flask

from ..accounts.factories import make_catalog


@pytest.fixture
def catalog(app: Flask) -> None:
    make_catalog()
