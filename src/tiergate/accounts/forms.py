"""The sign-up, log-in and invitation forms (server-side validation, CSRF through Flask-WTF)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from ..errors import TiergateError
from .services import MIN_PASSWORD_LENGTH

_PASSWORD = [
    DataRequired("Choose a password."),
    Length(
        min=MIN_PASSWORD_LENGTH,
        max=1024,
        message=f"Use at least {MIN_PASSWORD_LENGTH} characters.",
    ),
]


class SignupForm(FlaskForm):
    """A new user and the account they will own."""

    email = EmailField("E-mail", validators=[DataRequired("Enter your e-mail address.")])
    display_name = StringField("Your name", validators=[Length(max=128)])
    account_name = StringField(
        "Organisation name",
        validators=[DataRequired("Name your organisation."), Length(max=128)],
    )
    password = PasswordField("Password", validators=_PASSWORD)
    confirm = PasswordField(
        "Repeat the password", validators=[EqualTo("password", "The passwords differ.")]
    )


class LoginForm(FlaskForm):
    """E-mail and password."""

    email = EmailField("E-mail", validators=[DataRequired("Enter your e-mail address.")])
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])
    remember = BooleanField("Keep me logged in on this device")


class InvitationSignupForm(FlaskForm):
    """A password for the invited e-mail address, to join by signing up."""

    display_name = StringField("Your name", validators=[Length(max=128)])
    password = PasswordField("Password", validators=_PASSWORD)
    confirm = PasswordField(
        "Repeat the password", validators=[EqualTo("password", "The passwords differ.")]
    )


class ConfirmForm(FlaskForm):
    """A button and its CSRF token (accept an invitation, log out)."""


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
