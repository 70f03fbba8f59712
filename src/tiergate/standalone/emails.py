"""The standalone users' messages: verify an address, reset a password, change an address."""

from __future__ import annotations

from ..mail.links import absolute_url
from ..mail.services import queue_mail
from .tokens import CHANGE_EMAIL, RESET, VERIFY, make_token, password_fingerprint
from .users import User


def queue_verification(user: User) -> None:
    """Queue the message whose link confirms the user's address."""
    token = make_token(VERIFY, user, e=user.email)
    link = absolute_url("standalone.verify_email", token=token)
    queue_mail("verify_email", user.email, "Confirm your e-mail address", user=user, link=link)


def queue_already_registered(user: User) -> None:
    """Tell an address that signed up again that it already has a user (and how to log in)."""
    queue_mail(
        "already_registered",
        user.email,
        "You already have an account",
        user=user,
        login_link=absolute_url("standalone.login"),
        reset_link=absolute_url("standalone.forgot_password"),
    )


def queue_password_reset(user: User) -> None:
    """Queue the message with a single-use, expiring link to choose a new password."""
    token = make_token(RESET, user, p=password_fingerprint(user))
    link = absolute_url("standalone.reset_password", token=token)
    queue_mail("password_reset", user.email, "Reset your password", user=user, link=link)


def queue_email_change(user: User, new_email: str) -> None:
    """Ask the new address to confirm; tell the old one a change was asked for."""
    token = make_token(CHANGE_EMAIL, user, old=user.email, new=new_email)
    link = absolute_url("standalone.confirm_email_change", token=token)
    queue_mail(
        "email_change_confirm",
        new_email,
        "Confirm your new e-mail address",
        user=user,
        link=link,
        new_email=new_email,
    )
    queue_mail(
        "email_change_requested",
        user.email,
        "Your e-mail address is about to change",
        user=user,
        new_email=new_email,
    )


def queue_email_changed(old_email: str, user: User) -> None:
    """Tell the old address that the change went through."""
    queue_mail("email_changed", old_email, "Your e-mail address changed", user=user)
