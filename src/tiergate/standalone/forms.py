"""The standalone app's sign-up, log-in and invitation sign-up forms (validated, with CSRF)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, Field, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length
from wtforms.validators import ValidationError as FieldError

from .passwords import COMMON_PASSWORD_MESSAGE, MIN_PASSWORD_LENGTH, is_common_password


def _not_common(form: FlaskForm, field: Field) -> None:
    if field.data and is_common_password(field.data):
        raise FieldError(COMMON_PASSWORD_MESSAGE)


_PASSWORD = [
    DataRequired("Choose a password."),
    Length(
        min=MIN_PASSWORD_LENGTH,
        max=1024,
        message=f"Use at least {MIN_PASSWORD_LENGTH} characters.",
    ),
    _not_common,
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
