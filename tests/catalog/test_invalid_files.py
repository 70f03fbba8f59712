"""Each kind of invalid catalog file is refused with its problem and changes no row."""

import pytest
import yaml

from tiergate.db import db

from .helpers import demo_document, snapshot, tier_entry

FILE_NAME = "broken-catalog.yaml"


def with_unknown_permission(document):
    tier_entry(document, "pro")["permissions"].append("billing.refund")
    return "tiers[2] (key 'pro')", "unknown permission 'billing.refund'"


def with_duplicate_tier_key(document):
    document["tiers"].append({**tier_entry(document, "free"), "is_billing_exempt": True})
    return "tiers[5] (key 'free')", "duplicate key 'free', already used by tiers[0] (key 'free')"


def with_duplicate_permission_key(document):
    document["permissions"].append({"key": "api.access", "name": "API, again"})
    return "permissions[11] (key 'api.access')", "duplicate key 'api.access'"


def with_duplicate_lookup_key(document):
    tier_entry(document, "team")["stripe_lookup_key"] = "tiergate_pro_monthly"
    return "tiers[3] (key 'team')", "duplicate stripe_lookup_key 'tiergate_pro_monthly'"


def with_stripe_tier_without_lookup_key(document):
    tier_entry(document, "team")["stripe_lookup_key"] = None
    return "tiers[3] (key 'team')", "a stripe tier needs a stripe_lookup_key"


def with_whop_tier_without_product_key(document):
    del tier_entry(document, "community")["whop_product_key"]
    return "tiers[1] (key 'community')", "a whop tier needs a whop_product_key"


def with_zero_user_limit(document):
    tier_entry(document, "pro")["user_limit"] = 0
    return "tiers[2] (key 'pro')", "user_limit must be at least 1, not 0"


def with_negative_user_limit(document):
    tier_entry(document, "staff")["user_limit"] = -5
    return "tiers[4] (key 'staff')", "user_limit must be at least 1, not -5"


def with_overlong_tier_key(document):
    tier_entry(document, "team")["key"] = "team-" + "x" * 28
    document["default_tier"] = "free"
    return f"tiers[3] (key 'team-{'x' * 28}')", "key is 33 characters long; at most 32 fit"


def with_overlong_permission_name(document):
    document["permissions"][0]["name"] = "n" * 129
    return "permissions[0] (key 'admin.console')", "name is 129 characters long; at most 128"


def with_unknown_field(document):
    tier_entry(document, "pro")["colour"] = "blue"
    return "tiers[2] (key 'pro')", "unknown field 'colour'"


def with_wrong_type(document):
    tier_entry(document, "pro")["user_limit"] = "five"
    return "tiers[2] (key 'pro')", "user_limit must be an integer, not str 'five'"


def with_quoted_boolean(document):
    tier_entry(document, "staff")["is_billing_exempt"] = "yes"
    return "tiers[4] (key 'staff')", "is_billing_exempt must be true or false"


def with_unknown_default_tier(document):
    document["default_tier"] = "gold"
    return "default_tier", "unknown tier 'gold'"


def with_unknown_top_level_field(document):
    document["plans"] = []
    return "document", "unknown top-level field 'plans'"


def with_tiers_not_a_list(document):
    document["tiers"] = {"free": {}}
    return "tiers", "must be a list, not dict"


def with_yearly_key_equal_to_another_tiers_primary(document):
    tier_entry(document, "team")["stripe_yearly_lookup_key"] = "tiergate_pro_monthly"
    return (
        "tiers[3] (key 'team')",
        "duplicate stripe_yearly_lookup_key 'tiergate_pro_monthly', already used by "
        "tiers[2] (key 'pro') as its stripe_lookup_key",
    )


def with_yearly_key_equal_to_its_own_primary(document):
    tier_entry(document, "pro")["stripe_yearly_lookup_key"] = "tiergate_pro_monthly"
    return (
        "tiers[2] (key 'pro')",
        "stripe_yearly_lookup_key 'tiergate_pro_monthly' is the tier's own stripe_lookup_key",
    )


def with_duplicate_yearly_key(document):
    tier_entry(document, "team")["stripe_yearly_lookup_key"] = "tiergate_pro_yearly"
    return "tiers[3] (key 'team')", "duplicate stripe_yearly_lookup_key 'tiergate_pro_yearly'"


def with_yearly_product_without_a_primary(document):
    tier_entry(document, "free")["whop_yearly_product_key"] = "prod_yearly"
    return "tiers[0] (key 'free')", "whop_yearly_product_key needs a whop_product_key"


def with_too_long_a_trial(document):
    tier_entry(document, "pro")["trial_days"] = 731
    return "tiers[2] (key 'pro')", "trial_days must be between 0 and 730, not 731"


def with_negative_trial(document):
    tier_entry(document, "pro")["trial_days"] = -1
    return "tiers[2] (key 'pro')", "trial_days must be between 0 and 730, not -1"


def with_quoted_per_seat(document):
    tier_entry(document, "team")["per_seat"] = "yes"
    return "tiers[3] (key 'team')", "per_seat must be true or false, not str 'yes'"


def with_an_add_on_as_the_default_tier(document):
    tier_entry(document, "free")["is_addon"] = True
    return "default_tier", "tier 'free' is an add-on (is_addon)"


CASES = [
    with_yearly_key_equal_to_another_tiers_primary,
    with_yearly_key_equal_to_its_own_primary,
    with_duplicate_yearly_key,
    with_yearly_product_without_a_primary,
    with_too_long_a_trial,
    with_negative_trial,
    with_quoted_per_seat,
    with_an_add_on_as_the_default_tier,
    with_unknown_permission,
    with_duplicate_tier_key,
    with_duplicate_permission_key,
    with_duplicate_lookup_key,
    with_stripe_tier_without_lookup_key,
    with_whop_tier_without_product_key,
    with_zero_user_limit,
    with_negative_user_limit,
    with_overlong_tier_key,
    with_overlong_permission_name,
    with_unknown_field,
    with_wrong_type,
    with_quoted_boolean,
    with_unknown_default_tier,
    with_unknown_top_level_field,
    with_tiers_not_a_list,
]


@pytest.fixture
def loaded(runner):
    """The demo catalog, loaded and committed, with one change so reloading would write."""
    assert runner.invoke(args=["catalog", "load", "--demo"]).exit_code == 0
    document = demo_document()
    tier_entry(document, "free")["name"] = "Starter"  # a valid change the load must not make
    return document


def refused(runner, tmp_path, content):
    path = tmp_path / FILE_NAME
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    before = snapshot()
    result = runner.invoke(args=["catalog", "load", str(path)])
    db.session.rollback()
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and result.stdout == ""
    assert snapshot() == before
    return result.stderr


@pytest.mark.parametrize("break_it", CASES, ids=[case.__name__ for case in CASES])
def test_invalid_file_is_refused_and_changes_nothing(runner, tmp_path, loaded, break_it):
    entry, problem = break_it(loaded)
    stderr = refused(runner, tmp_path, yaml.safe_dump(loaded, sort_keys=False))
    prefix = f"{tmp_path / FILE_NAME}: {entry}: "
    assert any(line.startswith(prefix) and problem in line for line in stderr.splitlines()), stderr


def test_every_problem_is_reported_at_once(runner, tmp_path, loaded):
    expected = [case(loaded) for case in (with_zero_user_limit, with_unknown_default_tier)]
    expected.append(with_whop_tier_without_product_key(loaded))
    stderr = refused(runner, tmp_path, yaml.safe_dump(loaded, sort_keys=False))
    assert "catalog not loaded, 3 problems" in stderr
    for entry, problem in expected:
        assert f": {entry}: {problem}" in stderr


def test_malformed_yaml_reports_its_line(runner, tmp_path, loaded):
    text = yaml.safe_dump(loaded, sort_keys=False).splitlines()
    text[5] = "  - key: [unclosed"  # line 6, indented unlike its siblings
    stderr = refused(runner, tmp_path, "\n".join(text))
    assert f"{tmp_path / FILE_NAME}: line 6, column 3: malformed YAML" in stderr


@pytest.mark.parametrize(
    ("text", "problem"),
    [("", "the document is empty"), ("- free\n- pro\n", "the document is a list")],
)
def test_a_document_that_is_not_a_mapping_is_refused(runner, tmp_path, loaded, text, problem):
    assert f"{tmp_path / FILE_NAME}: document: {problem}" in refused(runner, tmp_path, text)


def test_an_unreadable_file_is_refused(runner, tmp_path, loaded):
    stderr = refused(runner, tmp_path, b"tiers: \xff\xfe\n")
    assert f"{tmp_path / FILE_NAME}: file: cannot be read: 'utf-8' codec can't decode" in stderr
