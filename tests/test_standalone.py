"""The standalone app: the caller's own settings win over tiergate's defaults."""

from __future__ import annotations

from pathlib import Path

from tiergate import create_app

from .conftest import TEST_CONFIG


def test_the_callers_cookie_settings_win(tmp_path: Path) -> None:
    app = create_app(
        {
            **TEST_CONFIG,
            "TIERGATE_DATABASE_URL": f"sqlite:///{tmp_path / 't.sqlite3'}",
            "SESSION_COOKIE_SAMESITE": "Strict",
            "REMEMBER_COOKIE_SECURE": True,
        }
    )
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Strict"
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    # What the caller left unset keeps tiergate's defaults.
    assert app.config["REMEMBER_COOKIE_SAMESITE"] == "Lax"
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
