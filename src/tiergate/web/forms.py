"""Forms of the account, members and billing pages (validated on the server, with CSRF)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlencode

from flask import redirect, request
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Regexp

from ..accounts.apikeys import API_KEY_NAME_MAX
from ..accounts.models import ROLES
from ..accounts.services import ACCOUNT_NAME_MAX
from ..errors import TiergateError

F = TypeVar("F", bound=Callable[..., Any])


def role_choices(roles: tuple[str, ...] = ROLES) -> list[SelectChoice]:
    """Return select options for ``roles``."""
    return [SelectChoice(role, role.title()) for role in roles]


class InviteForm(FlaskForm):
    """An e-mail address and the role the invited person will have."""

    email = EmailField(
        "E-mail",
        validators=[DataRequired("Enter the e-mail address to invite."), Length(max=254)],
    )
    role = SelectField("Role", choices=role_choices(), default="member", validate_choice=True)


class RoleForm(FlaskForm):
    """A member's new role."""

    role = SelectField("Role", choices=role_choices(), validate_choice=True)


class LicenseKeyForm(FlaskForm):
    """A Whop license key to attach to the account."""

    license_key = StringField(
        "License key",
        validators=[
            DataRequired("Enter the license key from your Whop purchase."),
            Length(max=128, message="A license key has at most 128 characters."),
            # Whop's keys are letters, digits and dashes; anything else is a typo, and '%' or
            # non-ASCII would not survive the sandbox's in-process transport (a Latin-1 path).
            Regexp(
                r"^\s*[A-Za-z0-9_-]+\s*$",
                message="A license key holds only letters, digits and dashes, without spaces.",
            ),
        ],
    )


class AccountNameForm(FlaskForm):
    """An organisation's name (renaming one, or creating another)."""

    name = StringField(
        "Name",
        validators=[
            DataRequired("Enter the organisation's name."),
            Length(
                max=ACCOUNT_NAME_MAX, message=f"A name has at most {ACCOUNT_NAME_MAX} characters."
            ),
        ],
    )


class ApiKeyForm(FlaskForm):
    """What a new API key is for."""

    name = StringField(
        "What is the key for?",
        validators=[
            DataRequired('Say what the key is for, such as "reporting job".'),
            Length(
                max=API_KEY_NAME_MAX,
                message=f"A key's name has at most {API_KEY_NAME_MAX} characters.",
            ),
        ],
    )


class ActionForm(FlaskForm):
    """A button and its CSRF token (checkout, manage billing, confirmations, log out)."""


def attach_error(
    form: FlaskForm,
    error: TiergateError,
    default_field: str,
    aliases: dict[str, str] | None = None,
) -> None:
    """Show a domain error next to the field it names (or ``default_field``)."""
    name = str(error.details.get("field") or default_field)
    name = (aliases or {}).get(name, name)
    field = form._fields.get(name) or form._fields[default_field]
    field.errors = [*field.errors, error.message]


def post_target(page: Callable[..., str]) -> Callable[[F], F]:
    """Answer any other method than POST with a redirect to ``page(**view_args)``.

    Such an address is only where a form posts to; a reload, a bookmark or a shared link
    reaches it with GET and lands on the page the form belongs to instead of a bare 405.
    HEAD (which Flask adds to GET routes, and which CSRF does not check) redirects too, so
    only a POST ever runs the view. ``?account=`` is kept so the page shows the same account.
    Register the view with ``methods=["GET", "POST"]``.
    """

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if request.method != "POST":
                return redirect(_with_account(page(**kwargs)), code=303)
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorator


def _with_account(url: str) -> str:
    """Return ``url`` keeping the request's ``?account=`` (the account the form was about)."""
    account = request.args.get("account")
    if not account:
        return url
    return f"{url}{'&' if '?' in url else '?'}{urlencode({'account': account})}"
