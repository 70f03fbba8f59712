"""The console tests' fixtures, for the limits pages in the admin console."""

from ..admin.conftest import cast, console_app, staff  # noqa: F401 - fixtures used by tests
