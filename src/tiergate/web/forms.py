"""Forms of the account, members and billing pages (validated on the server, with CSRF)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Regexp

from ..accounts.models import ROLES
from ..errors import TiergateError


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
