"""Without Chromium the browser tests skip, unless the backends are required: then they fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from . import conftest


def test_a_missing_chromium_skips_with_the_reason(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(conftest, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.delenv("TIERGATE_REQUIRE_BACKENDS", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no-chromium is missing"):
        conftest.skip_unless_chromium()


def test_a_missing_chromium_fails_when_backends_are_required(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(conftest, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.setenv("TIERGATE_REQUIRE_BACKENDS", "1")
    with pytest.raises(pytest.fail.Exception, match="TIERGATE_REQUIRE_BACKENDS=1 but .*missing"):
        conftest.skip_unless_chromium()


def test_an_installed_chromium_neither_skips_nor_fails(monkeypatch, tmp_path) -> None:
    browser = tmp_path / "chromium"
    browser.write_text("")
    monkeypatch.setattr(conftest, "CHROMIUM", browser)
    monkeypatch.setenv("TIERGATE_REQUIRE_BACKENDS", "1")
    conftest.skip_unless_chromium()
