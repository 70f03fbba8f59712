"""The standalone app's sign-up, log-in and invitation sign-up forms (validated, with CSRF)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, Field, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length
from wtforms.validators import ValidationError as FieldError

from ..accounts.services import normalise_email
from ..errors import ValidationError
from .passwords import COMMON_PASSWORD_MESSAGE, MIN_PASSWORD_LENGTH, is_common_password


def _an_email_address(form: FlaskForm, field: Field) -> None:
    # The accounts' own rule, checked with the other fields so every error shows at once.
    if field.data:
        try:
            normalise_email(field.data)
        except ValidationError as error:
            raise FieldError(error.message) from None


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

    email = EmailField(
        "E-mail", validators=[DataRequired("Enter your e-mail address."), _an_email_address]
    )
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


class EmailForm(FlaskForm):
    """An e-mail address (forgotten password, a new verification link)."""

    email = EmailField(
        "E-mail", validators=[DataRequired("Enter your e-mail address."), _an_email_address]
    )


class NewPasswordForm(FlaskForm):
    """A new password, twice (reset)."""

    password = PasswordField("New password", validators=_PASSWORD)
    confirm = PasswordField(
        "Repeat the password", validators=[EqualTo("password", "The passwords differ.")]
    )


class NameForm(FlaskForm):
    """The user's display name."""

    display_name = StringField("Your name", validators=[Length(max=128)])


class ChangeEmailForm(FlaskForm):
    """A new address, confirmed by the current password."""

    email = EmailField(
        "New e-mail", validators=[DataRequired("Enter the new address."), _an_email_address]
    )
    current_password = PasswordField(
        "Current password", validators=[DataRequired("Enter your current password.")]
    )


class ChangePasswordForm(FlaskForm):
    """The current password and a new one."""

    current_password = PasswordField(
        "Current password", validators=[DataRequired("Enter your current password.")]
    )
    password = PasswordField("New password", validators=_PASSWORD)
    confirm = PasswordField(
        "Repeat the new password", validators=[EqualTo("password", "The passwords differ.")]
    )


class ConfirmPasswordForm(FlaskForm):
    """The current password, to confirm a serious step (deleting the user)."""

    current_password = PasswordField(
        "Current password", validators=[DataRequired("Enter your current password.")]
    )


class ButtonForm(FlaskForm):
    """A button with nothing but its CSRF token ("log out everywhere", resend)."""
