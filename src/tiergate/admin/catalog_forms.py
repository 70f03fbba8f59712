"""Saving a catalog form: check with the catalog's rules, write in one go, or change nothing."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..audit.listeners import acting_as
from ..db import db, refusable_transaction
from ..errors import TiergateError
from .blueprint import staff_actor
from .forms import PermissionForm, TierForm, attach_problems


def save_catalog_form(
    form: TierForm | PermissionForm,
    problems_of: Callable[[Mapping[str, Any]], list[str]],
    write: Callable[[dict[str, Any]], Any],
) -> Any | None:
    """Validate ``form`` and call ``write`` with its values as the staff user; commit.

    Returns what ``write`` returned, or None when the form has errors (shown next to their
    fields; the transaction is rolled back, so nothing was written).
    """
    if not form.is_submitted():
        return None
    parsed = form.validate()
    values = form.catalog_values()
    attach_problems(form, problems_of(values))
    if not parsed or form.errors or form.form_errors:
        db.session.rollback()
        return None
    with refusable_transaction(TiergateError) as refused, acting_as(staff_actor()):
        result = write(values)
    if (error := refused.error) is not None:
        attach_problems(form, error.details.get("problems") or [error.message])
        return None
    return result
