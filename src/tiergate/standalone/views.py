"""The standalone app's own pages: home, sign-up, log-in, log-out, and joining by invitation.

An application that embeds tiergate has its own log-in; it may mount this blueprint too when it
uses tiergate's standalone users (``tiergate.standalone.users.User``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError
from werkzeug.wrappers import Response as BaseResponse

from ..accounts.models import Account, Invitation
from ..accounts.principal import SAFE_METHODS
from ..accounts.seats import accept_invitation, find_invitation
from ..accounts.services import create_account, slugify
from ..audit.services import Actor
from ..db import begin_write_transaction, db, utcnow
from ..errors import NotFound, TiergateError
from ..web.csrf import csrf_failed, protect_from_csrf
from ..web.forms import ActionForm, attach_error
from .auth import TooManyLoginAttempts, authenticate
from .forms import InvitationSignupForm, LoginForm, SignupForm
from .users import User, create_user, find_user

standalone_pages = Blueprint("standalone", __name__)


@standalone_pages.get("/")
def index() -> BaseResponse:
    """Send visitors to the pricing page until there is a home page."""
    return redirect(url_for("tiergate.web.pricing"))


standalone_pages.before_request(protect_from_csrf)
standalone_pages.register_error_handler(CSRFError, csrf_failed)


@standalone_pages.before_request
def _open_write_transaction() -> None:
    # SQLite: a form post writes; taking the write lock first keeps seat checks atomic.
    if request.method not in SAFE_METHODS:
        begin_write_transaction()


def _safe_next(target: str | None) -> str:
    """Return ``target`` when it is a path on this site, else the home page."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("standalone.index")
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else url_for("standalone.index")


def _log_in(user: User, *, remember: bool = False) -> None:
    # A fresh session on every log-in: nothing from before it survives (session fixation).
    session.clear()
    login_user(user, remember=remember)


def _free_slug(name: str) -> str:
    """Return a slug made from ``name`` that no account uses yet."""
    base = slugify(name)[:58].strip("-") or "account"
    taken = set(
        db.session.scalars(
            sa.select(Account.slug).where(
                sa.or_(Account.slug == base, Account.slug.like(f"{base}-%"))
            )
        )
    )
    slug, suffix = base, 2
    while slug in taken:
        slug, suffix = f"{base}-{suffix}", suffix + 1
    return slug


@standalone_pages.route("/signup", methods=["GET", "POST"])
def signup() -> Any:
    """Create a user and an account they own, then log them in."""
    if current_user.is_authenticated:
        return redirect(url_for("standalone.index"))
    form = SignupForm()
    if form.validate_on_submit():
        try:
            user = create_user(
                form.email.data or "",
                password=form.password.data or "",
                display_name=form.display_name.data or "",
                actor=Actor.system("signup"),
            )
            name = (form.account_name.data or "").strip()
            create_account(name, owner=user, actor=Actor.user(user), slug=_free_slug(name))
        except TiergateError as error:
            db.session.rollback()
            attach_error(form, error, "email", aliases={"name": "account_name"})
        else:
            db.session.commit()
            _log_in(user)
            flash("Welcome to tiergate: your account is ready.", "success")
            return redirect(url_for("standalone.index"))
    status = 422 if form.errors else 200
    return render_template("tiergate/accounts/signup.html", form=form), status


def _login_settings() -> tuple[int, timedelta]:
    config = current_app.config
    minutes = float(config["TIERGATE_LOGIN_FAILURE_WINDOW_MINUTES"])
    return int(config["TIERGATE_LOGIN_MAX_FAILURES"]), timedelta(minutes=minutes)


@standalone_pages.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Log in with e-mail and password."""
    target = _safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(target)
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        max_failures, window = _login_settings()
        try:
            user = authenticate(
                form.email.data or "",
                form.password.data or "",
                ip_address=request.remote_addr or "unknown",
                max_failures=max_failures,
                window=window,
            )
        except TooManyLoginAttempts as error:
            db.session.rollback()
            form.password.errors = [error.message]
            page = render_template("tiergate/accounts/login.html", form=form)
            return page, 429, {"Retry-After": str(error.details["retry_after"])}
        db.session.commit()  # a failure is counted even though the log-in failed
        if user is not None:
            _log_in(user, remember=bool(form.remember.data))
            return redirect(target)
        form.password.errors = ["Wrong e-mail or password."]
    if form.errors:
        status = 422
    return render_template("tiergate/accounts/login.html", form=form), status


@standalone_pages.post("/logout")
def logout() -> BaseResponse:
    """Log out and forget the session."""
    logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("standalone.login"))


def _invitation_state(invitation: Invitation) -> str:
    if invitation.accepted_at is not None:
        return "accepted"
    if invitation.revoked_at is not None:
        return "revoked"
    return "pending" if invitation.is_pending(utcnow()) else "expired"


def _invitation_page(token: str, invitation: Invitation, form: Any, status: int = 200) -> Any:
    page = render_template(
        "tiergate/accounts/invitation.html",
        token=token,
        invitation=invitation,
        account=db.session.get_one(Account, invitation.account_id),
        state=_invitation_state(invitation),
        existing_user=find_user(invitation.email) is not None,
        form=form,
    )
    return page, status


@standalone_pages.route("/invitations/<token>", methods=["GET", "POST"])
def invitation(token: str) -> Any:
    """Show an invitation; accept it as the logged-in user or by signing up."""
    try:
        found = find_invitation(token)
    except NotFound:
        return render_template("tiergate/accounts/invitation_missing.html"), 404
    logged_in = current_user.is_authenticated
    form: ActionForm | InvitationSignupForm = ActionForm() if logged_in else InvitationSignupForm()
    if request.method == "GET" or not form.validate_on_submit():
        return _invitation_page(token, found, form, 422 if form.errors else 200)
    try:
        if isinstance(form, ActionForm):
            user = current_user._get_current_object()
        else:
            user = create_user(
                found.email,
                password=form.password.data or "",
                display_name=form.display_name.data or "",
                actor=Actor.system("invitation"),
            )
        accept_invitation(token, user, actor=Actor.user(user))
    except TiergateError as error:
        db.session.rollback()
        db.session.refresh(found)
        return _invitation_page(token, found, _with_error(form, error), error.status)
    db.session.commit()
    if not logged_in:
        _log_in(user)
    session["account_id"] = found.account_id
    flash("You joined the account.", "success")
    return redirect(url_for("standalone.index"))


def _with_error(form: Any, error: TiergateError) -> Any:
    if isinstance(form, InvitationSignupForm):
        attach_error(form, error, "password")
    else:
        form.form_errors.append(error.message)
    return form
