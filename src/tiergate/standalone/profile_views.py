"""The profile page: name, e-mail address, password, "log out everywhere", delete my user.

Each form posts to its own URL and answers with a redirect to the page (post/redirect/get);
a GET of a form's URL shows the page. A refused change shows the page again with the reason.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, session, url_for
from flask_login import current_user, login_required, logout_user
from werkzeug.wrappers import Response as BaseResponse

from ..audit.services import Actor
from ..db import begin_write_transaction, db, refusable_transaction
from ..errors import TiergateError
from ..web.forms import attach_error
from .forms import ButtonForm, ChangeEmailForm, ChangePasswordForm, ConfirmPasswordForm, NameForm
from .profile import (
    change_display_name,
    delete_user,
    log_out_everywhere,
    request_email_change,
    set_password,
)
from .users import User, hash_password, verify_password
from .views import log_in_fresh, standalone_pages

FORMS = {
    "name_form": NameForm,
    "email_form": ChangeEmailForm,
    "password_form": ChangePasswordForm,
    "sessions_form": ButtonForm,
    "delete_form": ConfirmPasswordForm,
}


def _user() -> User:
    return db.session.get_one(User, current_user.id)


def _page(status: int = 200, **forms: Any) -> Any:
    user = _user()
    built: dict[str, Any] = {
        name: forms.get(name) or cls(formdata=None) for name, cls in FORMS.items()
    }
    built["name_form"].display_name.data = built["name_form"].display_name.data or user.display_name
    page = render_template("tiergate/standalone/profile.html", user=user, **built)
    return page, status


def _back(message: str) -> BaseResponse:
    flash(message, "info")
    return redirect(url_for("standalone.profile"), code=303)


def _wrong_password(form: Any, user: User) -> bool:
    if verify_password(user, form.current_password.data or ""):
        return False
    form.current_password.errors = ["This is not your current password."]
    return True


@standalone_pages.get("/profile")
@login_required
def profile() -> Any:
    """Show the user's profile settings."""
    return _page()


@standalone_pages.route("/profile/name", methods=["GET", "POST"])
@login_required
def profile_name() -> Any:
    """Change the display name."""
    form = NameForm()
    if not form.validate_on_submit():
        return _page(422, name_form=form) if form.errors else redirect(url_for(".profile"))
    with refusable_transaction(TiergateError) as refused:
        begin_write_transaction()
        user = _user()
        change_display_name(user, form.display_name.data or "", actor=Actor.user(user))
    if refused.error is not None:
        attach_error(form, refused.error, "display_name")
        return _page(refused.error.status, name_form=form)
    return _back("Your name is saved.")


@standalone_pages.route("/profile/email", methods=["GET", "POST"])
@login_required
def profile_email() -> Any:
    """Ask to change the e-mail address: the new one must confirm it first."""
    form = ChangeEmailForm()
    if not form.validate_on_submit():
        return _page(422, email_form=form) if form.errors else redirect(url_for(".profile"))
    if _wrong_password(form, _user()):
        return _page(422, email_form=form)
    new_email = (form.email.data or "").strip().lower()
    with refusable_transaction(TiergateError) as refused:
        begin_write_transaction()
        user = _user()
        request_email_change(user, new_email, actor=Actor.user(user))
    if refused.error is not None:
        attach_error(form, refused.error, "email")
        return _page(refused.error.status, email_form=form)
    return _back(
        f"We have sent a link to {new_email}: your address changes once you follow it. "
        "Your current address is told too."
    )


@standalone_pages.route("/profile/password", methods=["GET", "POST"])
@login_required
def profile_password() -> Any:
    """Change the password (the current one is needed); every other session ends."""
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return _page(422, password_form=form) if form.errors else redirect(url_for(".profile"))
    if _wrong_password(form, _user()):
        return _page(422, password_form=form)
    password_hash = hash_password(form.password.data or "")
    db.session.rollback()
    with refusable_transaction(TiergateError) as refused:
        begin_write_transaction()
        user = _user()
        set_password(user, password_hash, actor=Actor.user(user), action="user.password_changed")
    if refused.error is not None:
        attach_error(form, refused.error, "password")
        return _page(refused.error.status, password_form=form)
    # This browser stays logged in, in a new session; every other one is logged out.
    log_in_fresh(_user())
    return _back("Your password is changed; every other session has ended.")


@standalone_pages.route("/profile/sessions", methods=["GET", "POST"])
@login_required
def profile_sessions() -> Any:
    """Log out everywhere: every session and "keep me logged in" cookie of the user ends."""
    if not ButtonForm().validate_on_submit():
        return redirect(url_for(".profile"))
    with refusable_transaction(TiergateError):
        begin_write_transaction()
        user = _user()
        log_out_everywhere(user, actor=Actor.user(user))
    session.clear()
    logout_user()
    flash("You are logged out everywhere.", "info")
    return redirect(url_for("standalone.login"), code=303)


@standalone_pages.route("/profile/delete", methods=["GET", "POST"])
@login_required
def profile_delete() -> Any:
    """Delete the user (the current password is needed); see docs/auth.md for the rules."""
    form = ConfirmPasswordForm()
    if not form.validate_on_submit():
        return _page(422, delete_form=form) if form.errors else redirect(url_for(".profile"))
    if _wrong_password(form, _user()):
        return _page(422, delete_form=form)
    with refusable_transaction(TiergateError) as refused:
        begin_write_transaction()
        user = _user()
        delete_user(user, actor=Actor.user(user))
    if refused.error is not None:
        form.current_password.errors = [refused.error.message]
        return _page(refused.error.status, delete_form=form)
    session.clear()
    logout_user()
    flash("Your user is deleted.", "info")
    return redirect(url_for("standalone.login"), code=303)
