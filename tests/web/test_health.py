import socket

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from tiergate.db import db
from tiergate.migrate import BRANCH_DIRS, MIGRATIONS_DIR, downgrade_database

from ..conftest import make_app


def script_head():
    # The standalone app's branches: tiergate's own and its users'.
    locations = [str(BRANCH_DIRS["tiergate"]), str(BRANCH_DIRS["standalone"])]
    script = ScriptDirectory(str(MIGRATIONS_DIR), version_locations=locations)
    return ",".join(sorted(script.get_heads()))


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_healthy_at_head(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "database": "ok",
        "migrations": "head",
        "revision": script_head(),
        "webhooks": {"backlog": 0, "failed": 0, "oldest_unapplied_seconds": None},
    }
    assert response.headers["Cache-Control"] == "no-store"


def test_healthy_at_head_on_every_backend(any_backend_app):
    response = any_backend_app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["revision"] == script_head()


def test_unmigrated_database_is_unhealthy_and_says_how_to_fix_it(app, client):
    downgrade_database("base")
    response = client.get("/healthz")
    body = response.get_json()
    assert response.status_code == 503
    assert body["status"] == "error"
    assert body["database"] == "ok"
    assert body["migrations"] == "behind"
    assert body["message"] == (
        f"database at revision base, code expects {script_head()}: run `tiergate db upgrade`"
    )


def test_database_migrated_by_newer_code_is_unhealthy(app, client):
    with db.engine.begin() as connection:
        connection.execute(
            sa.text(
                "UPDATE tiergate_alembic_version SET version_num = '9999_future' "
                "WHERE version_num LIKE '0%'"
            )
        )
    response = client.get("/healthz")
    body = response.get_json()
    assert response.status_code == 503
    assert body["migrations"] == "unknown"
    assert body["revision"].split(",")[0] == "9999_future"
    assert "9999_future" in body["message"]
    assert "does not know" in body["message"]
    assert "db upgrade" not in body["message"]


def test_unreachable_database_is_unhealthy(tmp_path, caplog):
    port = closed_port()
    app = make_app(f"postgresql+psycopg://tiergate@127.0.0.1:{port}/tiergate")
    with caplog.at_level("WARNING", logger="tiergate.web.health"):
        response = app.test_client().get("/healthz")
    body = response.get_json()
    assert response.status_code == 503
    assert body["status"] == "error"
    assert body["database"] == "unreachable"
    assert body["migrations"] == "unknown"
    assert body["message"].startswith("database unreachable (OperationalError)")
    # The driver's details (host, port, user) go to the log only.
    assert str(port) not in body["message"]
    assert str(port) in caplog.text
    with app.app_context():
        db.engine.dispose()


def test_app_start_up_does_not_touch_the_database(tmp_path):
    database = tmp_path / "never-created.sqlite3"
    app = make_app(f"sqlite:///{database}")
    assert not database.exists()
    assert app.test_client().get("/healthz").status_code == 503  # now it connects
    assert database.exists()
    with app.app_context():
        db.engine.dispose()
