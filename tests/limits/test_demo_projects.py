"""The demo's Projects page: projects within the demo plan's limit, API calls counted."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tiergate.accounts.apikeys import create_api_key
from tiergate.accounts.models import Account
from tiergate.catalog.services import load_catalog
from tiergate.db import db
from tiergate.limits import check
from tiergate.limits.models import UsageCounter
from tiergate.standalone.demo_projects import DemoProject

from ..accounts.factories import SYSTEM, make_account
from ..browsing import csrf_token, log_in
from ..catalog.helpers import demo_document
from ..conftest import http_client


def _owner(app):
    load_catalog(demo_document(), source="demo.yaml")
    db.session.commit()
    account = make_account("acme", owner="owner@acme.test")  # the demo's free plan: 3 projects
    client = http_client(app)
    log_in(client, "owner@acme.test")
    return account.id, client


def _create(client, name: str):
    token = csrf_token(client.get("/projects").get_data(as_text=True))
    return client.post("/projects", data={"name": name, "csrf_token": token})


def test_projects_are_created_until_the_plan_is_full_then_deleted(app):
    account_id, client = _owner(app)
    assert [_create(client, f"P{i}").status_code for i in range(3)] == [302, 302, 302]
    page = client.get("/projects").get_data(as_text=True)
    assert 'data-used="3" data-limit="3"' in page and "holds no more projects" in page
    refused = client.post("/projects", data={"name": "P4", "csrf_token": csrf_token(page)})
    assert refused.status_code == 403
    db.session.rollback()
    assert check(account_id, "projects", amount=0).used == 3
    delete = page.split('action="/projects/')[1].split('"')[0]
    assert (
        client.post(f"/projects/{delete}", data={"csrf_token": csrf_token(page)}).status_code == 302
    )
    db.session.rollback()
    assert check(account_id, "projects", amount=0).used == 2
    assert _create(client, "P5").status_code == 302


def test_a_nameless_project_is_refused_and_takes_no_unit(app):
    account_id, client = _owner(app)
    assert _create(client, "  ").status_code == 422
    db.session.rollback()
    assert check(account_id, "projects", amount=0).used == 0


def test_each_api_call_counts(app):
    account_id, _ = _owner(app)
    account = db.session.get_one(Account, account_id)
    _, key = create_api_key("demo", account=account, actor=SYSTEM)
    db.session.commit()
    client = http_client(app)
    headers = {"Authorization": f"Bearer {key}"}
    assert [client.get("/api/demo/projects", headers=headers).status_code for _ in range(2)] == [
        200,
        200,
    ]
    db.session.rollback()
    assert check(account_id, "api.calls", amount=0).used == 2


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_a_project_deleted_meanwhile_releases_nothing(backend_app, backend):
    # SQLite lets one writer in at a time; on a server, two deletes can read the same row.
    with backend_app(backend) as application:
        _delete_while_another_request_deletes(application)


def _delete_while_another_request_deletes(app):
    account_id, client = _owner(app)
    assert [_create(client, f"P{i}").status_code for i in range(2)] == [302, 302]
    page = client.get("/projects").get_data(as_text=True)
    delete = page.split('action="/projects/')[1].split('"')[0]
    project_id = int(delete.split("/")[0])
    other = sa.create_engine(db.engine.url)
    done: list[bool] = []

    def delete_first(conn, cursor, statement, parameters, context, executemany):
        # Another request deletes the same project just before this one does.
        if statement.startswith("DELETE FROM tiergate_demo_project") and not done:
            done.append(True)
            with other.begin() as meanwhile:
                meanwhile.execute(sa.delete(DemoProject).where(DemoProject.id == project_id))
                meanwhile.execute(
                    sa.update(UsageCounter)
                    .where(UsageCounter.account_id == account_id)
                    .values(used=UsageCounter.used - 1)
                )

    sa.event.listen(db.engine, "before_cursor_execute", delete_first)
    try:
        response = client.post(f"/projects/{delete}", data={"csrf_token": csrf_token(page)})
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", delete_first)
        other.dispose()
    assert response.status_code == 404
    db.session.rollback()
    projects = db.session.scalar(sa.select(sa.func.count()).select_from(DemoProject))
    assert projects == 1 == check(account_id, "projects", amount=0).used


PROJECTS_LINK = '<a href="/projects"'


def test_the_navigation_links_the_projects_page_for_a_signed_in_user(app):
    _, client = _owner(app)
    pricing = client.get("/pricing").get_data(as_text=True)
    assert f"{PROJECTS_LINK}>Projects</a>" in pricing
    page = client.get("/projects").get_data(as_text=True)
    assert f'{PROJECTS_LINK} aria-current="page">Projects</a>' in page
    anonymous = http_client(app).get("/pricing").get_data(as_text=True)
    assert PROJECTS_LINK not in anonymous
