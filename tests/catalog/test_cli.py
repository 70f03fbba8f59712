import json
import shutil

import pytest
import yaml
from click.testing import CliRunner

from tiergate.catalog import services
from tiergate.catalog.schemas import dump_yaml
from tiergate.db import db
from tiergate.standalone.cli import build_cli

from ..conftest import make_app
from .helpers import DEMO_TEXT, demo_document, snapshot, tier_entry


def invoke(runner, *args):
    result = runner.invoke(args=list(args))
    db.session.rollback()  # see what the command committed, not what it left in the session
    return result


def test_load_demo_then_list_tiers(runner):
    result = invoke(runner, "catalog", "load", "--demo")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "demo.yaml: 16 changes",
        "  permissions: 11 created, 0 updated, 0 unchanged, 0 deleted",
        "  tiers: 5 created, 0 updated, 0 unchanged, 0 deleted",
    ]
    listed = invoke(runner, "tiers", "list")
    assert listed.exit_code == 0
    header, *rows = listed.stdout.splitlines()
    assert header.split() == [
        "KEY",
        "NAME",
        "PROVIDER",
        "PRICE",
        "USERS",
        "INTEGRATION",
        "PERMISSIONS",
    ]
    assert [row.split()[0] for row in rows] == ["free", "community", "pro", "team", "staff"]
    assert rows[0].split()[1] == "(default)"
    assert rows[2].split()[2:] == ["stripe", "$19/mo", "5", "yes", "8"]
    # Aligned: each column starts at the same place on every line.
    start = header.index("PROVIDER")
    assert all(row[start:].split()[0] in ("exempt", "stripe", "whop") for row in rows)


def test_list_tiers_flags_a_tier_that_cannot_be_sold(runner):
    services.create_tier("pro", "Pro")
    services.get_tier("pro").billing_provider = "stripe"  # bypasses validation, as old data may
    db.session.commit()
    result = invoke(runner, "tiers", "list")
    row = result.stdout.splitlines()[1]
    assert row.split()[:3] == ["pro", "Pro", "stripe"] and " no " in row
    assert "pro: a Stripe tier needs a stripe_lookup_key" in result.stdout


def test_list_tiers_as_json(runner):
    invoke(runner, "catalog", "load", "--demo")
    rows = json.loads(invoke(runner, "tiers", "list", "--json").stdout)
    assert [row["key"] for row in rows] == ["free", "community", "pro", "team", "staff"]
    community = rows[1]
    assert community["provider"] == "whop" and community["valid_integration"] is True
    assert community["permissions"] == tier_entry(demo_document(), "community")["permissions"]
    pro, team = rows[2], rows[3]
    assert (pro["yearly_key"], pro["trial_days"], pro["per_seat"]) == (
        "tiergate_pro_yearly",
        14,
        False,
    )
    assert (team["yearly_key"], team["per_seat"], team["is_addon"]) == (
        "tiergate_team_yearly",
        True,
        False,
    )


def test_list_tiers_on_an_empty_catalog(runner):
    result = invoke(runner, "tiers", "list")
    assert result.exit_code == 0 and "No tiers yet" in result.stdout


@pytest.mark.parametrize("args", [[], ["somefile.yaml", "--demo"]])
def test_load_needs_exactly_one_source(runner, args):
    result = invoke(runner, "catalog", "load", *args)
    assert result.exit_code == 2
    assert "give either a catalog FILE or --demo (exactly one)" in result.stderr


def test_export_to_stdout_and_to_a_file(runner, tmp_path):
    invoke(runner, "catalog", "load", "--demo")
    printed = invoke(runner, "catalog", "export")
    assert printed.exit_code == 0
    assert yaml.safe_load(printed.stdout) == yaml.safe_load(DEMO_TEXT)
    assert printed.stdout == dump_yaml(services.export_catalog())
    target = tmp_path / "catalog.yaml"
    written = invoke(runner, "catalog", "export", "-o", str(target))
    assert written.exit_code == 0 and written.stdout == ""
    assert target.read_text("utf-8") == printed.stdout
    reloaded = invoke(runner, "catalog", "load", str(target))
    assert reloaded.stdout.splitlines()[0] == f"{target}: 0 changes"


def test_export_to_an_unwritable_place_fails_cleanly(runner, tmp_path):
    result = invoke(runner, "catalog", "export", "-o", str(tmp_path / "missing" / "c.yaml"))
    assert result.exit_code == 1 and "cannot write" in result.stderr
    assert "Traceback" not in result.output


def test_dry_run_reports_and_writes_nothing(runner):
    before = snapshot()
    result = invoke(runner, "catalog", "load", "--demo", "--dry-run")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "demo.yaml: 16 changes"
    assert result.stdout.splitlines()[-1] == "dry run: nothing was written"
    assert snapshot() == before


def test_prune_from_the_command_line(runner, tmp_path):
    invoke(runner, "catalog", "load", "--demo")
    document = demo_document()
    document["tiers"] = [tier for tier in document["tiers"] if tier["key"] != "community"]
    path = tmp_path / "smaller.yaml"
    path.write_text(yaml.safe_dump(document), "utf-8")
    kept = invoke(runner, "catalog", "load", str(path))
    assert "not in the file, left alone: community" in kept.stdout
    pruned = invoke(runner, "catalog", "load", str(path), "--prune")
    assert "tiers: 0 created, 0 updated, 4 unchanged, 1 deleted" in pruned.stdout
    assert [tier.key for tier in services.list_tiers()] == ["free", "pro", "team", "staff"]


def test_a_database_error_is_a_message_not_a_traceback(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'never-migrated.sqlite3'}")
    result = app.test_cli_runner().invoke(args=["catalog", "load", "--demo"])
    assert result.exit_code == 1
    assert "database error: no such table" in result.stderr
    assert "tiergate db upgrade" in result.stderr and "Traceback" not in result.output


def test_the_tiergate_command_runs_the_catalog_commands(tmp_path, sqlite_template, monkeypatch):
    database = tmp_path / "cli.sqlite3"
    shutil.copyfile(sqlite_template, database)
    monkeypatch.setenv("TIERGATE_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("TIERGATE_DEBUG", "1")
    runner = CliRunner()
    loaded = runner.invoke(build_cli(), ["catalog", "load", "--demo"])
    assert loaded.exit_code == 0, loaded.output
    listed = runner.invoke(build_cli(), ["tiers", "list", "--json"])
    assert [row["key"] for row in json.loads(listed.stdout)][0] == "free"
