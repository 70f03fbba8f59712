"""Pages reached from e-mail: verify an address, forgotten password, reset it, change address.

Every link works in a browser that is not logged in. Each form answers its POST with a
redirect (post/redirect/get), and every URL answers GET.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as BaseResponse

from ..db import begin_write_transaction, db, refusable_transaction, request_transaction
from .emails import queue_password_reset, queue_verification
from .forms import ButtonForm, EmailForm, NewPasswordForm
from .profile import confirm_email_change, reset_password, user_for_reset, verify_email
from .tokens import InvalidLink
from .users import User, find_user, hash_password
from .views import standalone_pages

#: The same answer whether or not the address has a user.
RESET_SENT = (
    "If {email} belongs to a user, we have sent it a link to choose a new password. The link "
    "works once, for {minutes} minutes."
)

#: Endpoints an unverified user may still reach when TIERGATE_REQUIRE_VERIFIED_EMAIL is on.
UNVERIFIED_ALLOWED = frozenset(
    {
        "standalone.verify_pending",
        "standalone.verify_email",
        "standalone.logout",
        "standalone.profile",
        "standalone.profile_email",
        "standalone.confirm_email_change",
        "tiergate.static",
    }
)


def _done(message: str, endpoint: str = "standalone.login") -> BaseResponse:
    flash(message, "info")
    if endpoint == "standalone.login" and current_user.is_authenticated:
        endpoint = "standalone.profile"
    return redirect(url_for(endpoint), code=303)


def _invalid(error: InvalidLink) -> Any:
    page = render_template("tiergate/standalone/link_invalid.html", message=error.message)
    return page, 400


@standalone_pages.get("/verify-email/<token>", endpoint="verify_email")
def verify_email_link(token: str) -> Any:
    """Confirm the address a verification link was sent to."""
    with refusable_transaction(InvalidLink) as refused:
        begin_write_transaction()
        verify_email(token)
    if refused.error is not None:
        return _invalid(refused.error)
    return _done("Thank you: your e-mail address is confirmed.", "standalone.login")


@standalone_pages.route("/verify-email", methods=["GET", "POST"])
@login_required
def verify_pending() -> Any:
    """Say the address needs confirming; a POST sends a new link."""
    form = ButtonForm()
    user = db.session.get_one(User, current_user.id)
    if request.method == "POST" and form.validate_on_submit() and not user.is_verified:
        with request_transaction():
            begin_write_transaction()
            queue_verification(db.session.get_one(User, user.id))
        return _done(f"We have sent a new link to {user.email}.", "standalone.verify_pending")
    return render_template("tiergate/standalone/verify.html", form=form, user=user)


@standalone_pages.route("/forgot-password", methods=["GET", "POST"])
def forgot_password() -> Any:
    """Ask for a password reset link; the answer is the same for every address."""
    form = EmailForm()
    if form.validate_on_submit():
        email = (form.email.data or "").strip().lower()
        with request_transaction():
            begin_write_transaction()
            user = find_user(email)
            if user is not None and user.is_active:
                queue_password_reset(user)
        minutes = int(float(current_app.config["TIERGATE_PASSWORD_RESET_MINUTES"]))
        return _done(RESET_SENT.format(email=email, minutes=minutes), "standalone.forgot_password")
    status = 422 if form.errors else 200
    return render_template("tiergate/standalone/forgot.html", form=form), status


@standalone_pages.route(
    "/reset-password/<token>", methods=["GET", "POST"], endpoint="reset_password"
)
def reset_password_page(token: str) -> Any:
    """Choose a new password through a reset link (once, before it expires)."""
    try:
        user_for_reset(token)
    except InvalidLink as error:
        return _invalid(error)
    db.session.rollback()
    form = NewPasswordForm()
    if form.validate_on_submit():
        # Argon2 first: the database's write lock is not held while it runs.
        password_hash = hash_password(form.password.data or "")
        with refusable_transaction(InvalidLink) as refused:
            begin_write_transaction()
            reset_password(token, password_hash)
        if refused.error is not None:
            return _invalid(refused.error)
        return _done("Your password is changed: log in with it. Every session has ended.")
    status = 422 if form.errors else 200
    return render_template("tiergate/standalone/reset.html", form=form, token=token), status


@standalone_pages.get("/confirm-email/<token>", endpoint="confirm_email_change")
def confirm_email_change_link(token: str) -> Any:
    """Make the new address the user's, from the link sent to it."""
    with refusable_transaction(InvalidLink) as refused:
        begin_write_transaction()
        user = confirm_email_change(token)
    if refused.error is not None:
        return _invalid(refused.error)
    return _done(f"Your e-mail address is now {user.email}.")


def restrict_unverified() -> Any:
    """With TIERGATE_REQUIRE_VERIFIED_EMAIL, send an unverified user to confirm first."""
    if not current_app.config.get("TIERGATE_REQUIRE_VERIFIED_EMAIL"):
        return None
    if not current_user.is_authenticated or getattr(current_user, "is_verified", True):
        return None
    if request.endpoint in UNVERIFIED_ALLOWED or request.path.startswith("/api/"):
        return None
    return redirect(url_for("standalone.verify_pending"))
