"""The demo's Projects page: projects held within the plan's limit, an API call counted.

Creating a project reserves one unit of the ``projects`` allocation in the same transaction
as the row (``@require_permission("projects", consume=1)``); deleting one releases it. The
API endpoint counts each call against the metered ``api.calls``. Demo only: an application
has its own projects.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from flask import Blueprint, Flask, abort, flash, jsonify, redirect, render_template, url_for
from flask_wtf import FlaskForm
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.wrappers import Response as BaseResponse
from wtforms import StringField

from ..db import UTCDateTime, db, request_transaction, utcnow
from ..entitlements.decorators import current_account_id, require_permission
from ..errors import ValidationError
from ..limits import check, release
from .users import StandaloneBase

demo_projects = Blueprint("demo_projects", __name__)
NAME_LENGTH = 64


class DemoProject(StandaloneBase):
    """A project of the demo: a name in an account."""

    __tablename__ = "tiergate_demo_project"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.Integer, nullable=False, index=True)
    name: Mapped[str] = mapped_column(sa.String(NAME_LENGTH), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class ProjectForm(FlaskForm):
    """A new project's name."""

    name = StringField("Project name")


def _account_id() -> int:
    account_id = current_account_id()
    if account_id is None:
        abort(404)
    return account_id


def _page(form: ProjectForm, status: int = 200) -> Any:
    account_id = _account_id()
    projects = db.session.scalars(
        sa.select(DemoProject).where(DemoProject.account_id == account_id).order_by(DemoProject.id)
    ).all()
    page = render_template(
        "tiergate/limits/demo_projects.html",
        projects=projects,
        form=form,
        delete_form=FlaskForm(),
        projects_limit=check(account_id, "projects", amount=1),
        calls=check(account_id, "api.calls", amount=0),
    )
    return page, status


@demo_projects.get("/projects")
@require_permission("projects.view")
def projects() -> Any:
    """List the account's projects with the plan's limit."""
    return _page(ProjectForm(formdata=None))


@demo_projects.post("/projects")
@require_permission("projects", consume=1)
def create_project() -> Any:
    """Create a project; its unit of the plan's limit is taken with it."""
    form = ProjectForm()
    name = str(form.name.data or "").strip()
    if not form.validate() or not name or len(name) > NAME_LENGTH:
        flash(f"A project needs a name of 1 to {NAME_LENGTH} characters.", "error")
        return _page(form, 422)  # an error status: the decorator gives the unit back
    db.session.add(DemoProject(account_id=_account_id(), name=name))
    flash(f"Project {name} created.", "success")
    return redirect(url_for("demo_projects.projects"))


@demo_projects.post("/projects/<int:project_id>/delete")
@require_permission("projects.view")
def delete_project(project_id: int) -> BaseResponse:
    """Delete a project and give its unit back."""
    account_id = _account_id()
    if not FlaskForm().validate_on_submit():
        abort(400)
    with request_transaction():
        name = db.session.scalar(
            sa.select(DemoProject.name).where(
                DemoProject.id == project_id, DemoProject.account_id == account_id
            )
        )
        deleted = db.session.execute(
            sa.delete(DemoProject).where(
                DemoProject.id == project_id, DemoProject.account_id == account_id
            )
        )
        # Only the delete that removed the row gives its unit back: of two concurrent
        # deletes of one project, the second removes nothing and must release nothing.
        if cast(sa.CursorResult[Any], deleted).rowcount != 1:
            abort(404)
        # A project made before limits were counted had nothing reserved for it.
        with contextlib.suppress(ValidationError):
            release(account_id, "projects", 1)
    flash(f"Project {name} deleted.", "success")
    return redirect(url_for("demo_projects.projects"))


@demo_projects.get("/api/demo/projects")
@require_permission("api.calls", consume=1)
def api_projects() -> Any:
    """List the account's projects as JSON; each call counts against the plan's API calls."""
    names = db.session.scalars(
        sa.select(DemoProject.name).where(DemoProject.account_id == _account_id())
    ).all()
    return jsonify(projects=list(names))


def register_demo_projects(app: Flask) -> None:
    """Mount the demo's Projects page and API endpoint."""
    app.register_blueprint(demo_projects)
