"""`tiergate accounts ...` and `tiergate users ...`."""

from __future__ import annotations

from flask.cli import AppGroup

accounts_cli = AppGroup("accounts", help="Customer accounts, members and exempt grants.")
users_cli = AppGroup("users", help="Users who can log in.")
