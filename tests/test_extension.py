"""TierGate.init_app on an application of someone else's: what it refuses, what it leaves."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from tiergate import TierGate
from tiergate.errors import ConfigurationError


class HostBase(DeclarativeBase):
    pass


class Member(HostBase):
    __tablename__ = "members"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254))


class UuidUser(HostBase):
    __tablename__ = "uuid_users"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254))


class NoEmail(HostBase):
    __tablename__ = "no_email_users"
    id: Mapped[int] = mapped_column(primary_key=True)


def host(tmp_path: Path, **config: object) -> tuple[Flask, SQLAlchemy]:
    app = Flask("host")
    app.config.update(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'host.sqlite3'}", SECRET_KEY="x", **config
    )
    db = SQLAlchemy(model_class=HostBase)
    db.init_app(app)
    return app, db


def test_a_bound_host_gets_one_state_and_keeps_its_own_views(tmp_path: Path) -> None:
    app, db = host(tmp_path)

    @app.get("/")
    def home() -> str:
        return "host home"

    state = TierGate().init_app(app, db=db, user_model=Member)
    assert app.extensions["tiergate"] is state and state.db is db
    response = app.test_client().get("/")
    assert response.get_data(as_text=True) == "host home"
    assert "Content-Security-Policy" not in response.headers
    assert "Content-Security-Policy" in app.test_client().get("/pricing").headers


def test_the_host_may_ask_for_the_security_headers_everywhere(tmp_path: Path) -> None:
    app, db = host(tmp_path, TIERGATE_SECURITY_HEADERS="app")

    @app.get("/")
    def home() -> str:
        return "host home"

    TierGate(app, db=db, user_model=Member)
    assert "Content-Security-Policy" in app.test_client().get("/").headers


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (None, "user_model=<the application's user model class>"),
        (object, "is not a mapped SQLAlchemy model class"),
        (UuidUser, "an integer primary key named id"),
        (NoEmail, "has no email column"),
    ],
)
def test_a_user_model_tiergate_cannot_refer_to_is_refused(
    tmp_path: Path, model: object, message: str
) -> None:
    app, db = host(tmp_path)
    with pytest.raises(ConfigurationError, match=message):
        TierGate().init_app(app, db=db, user_model=model)
    assert "tiergate" not in app.extensions


def test_a_host_model_on_a_tiergate_table_is_reported_by_name(tmp_path: Path) -> None:
    app = Flask("host")
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'host.sqlite3'}"
    db = SQLAlchemy()  # a metadata of its own, not the shared HostBase's
    db.init_app(app)
    sa.Table("subscription_tier", db.metadata, sa.Column("id", sa.Integer, primary_key=True))
    with pytest.raises(ConfigurationError, match="define tiergate's table.s. subscription_tier"):
        TierGate().init_app(app, db=db, user_model=Member)


def test_refusals_name_the_problem(tmp_path: Path) -> None:
    app, db = host(tmp_path)
    with pytest.raises(ConfigurationError, match="db=<the application's"):
        TierGate().init_app(app, user_model=Member)
    with pytest.raises(ConfigurationError, match="unknown part.s. to mount: shop"):
        TierGate().init_app(app, db=db, user_model=Member, mount={"shop": ""})
    with pytest.raises(ConfigurationError, match="TIERGATE_SECURITY_HEADERS='everywhere'"):
        other, other_db = host(tmp_path, TIERGATE_SECURITY_HEADERS="everywhere")
        TierGate().init_app(other, db=other_db, user_model=Member)
    TierGate().init_app(app, db=db, user_model=Member)
    with pytest.raises(ConfigurationError, match="already initialised"):
        TierGate().init_app(app, db=db, user_model=Member)


def test_db_must_be_the_one_initialised_on_the_app(tmp_path: Path) -> None:
    app, _ = host(tmp_path)
    with pytest.raises(ConfigurationError, match=r"call db.init_app\(app\) before"):
        TierGate().init_app(app, db=SQLAlchemy(), user_model=Member)
    with pytest.raises(ConfigurationError, match=r"call db.init_app\(app\) before"):
        TierGate().init_app(Flask("bare"), db=SQLAlchemy(), user_model=Member)
