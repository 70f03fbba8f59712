"""The standalone app's own pages: home, sign-up, log-in and log-out.

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

from ..accounts.models import Account
from ..accounts.principal import SAFE_METHODS
from ..accounts.services import create_account, slugify
from ..audit.services import Actor
from ..db import begin_write_transaction, db, refusable_transaction
from ..errors import TiergateError
from ..web.csrf import csrf_failed, protect_from_csrf
from ..web.forms import attach_error
from .auth import TooManyLoginAttempts, authenticate
from .forms import InvitationSignupForm, LoginForm, SignupForm
from .users import User, create_user

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
        with refusable_transaction(TiergateError) as refused:
            user = create_user(
                form.email.data or "",
                password=form.password.data or "",
                display_name=form.display_name.data or "",
                actor=Actor.system("signup"),
            )
            name = (form.account_name.data or "").strip()
            create_account(name, owner=user, actor=Actor.user(user), slug=_free_slug(name))
        if refused.error is None:
            _log_in(user)
            flash("Welcome to tiergate: your account is ready.", "success")
            return redirect(url_for("standalone.index"))
        attach_error(form, refused.error, "email", aliases={"name": "account_name"})
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
        # Committed even when the log-in fails: the failure is counted.
        with refusable_transaction(TooManyLoginAttempts) as refused:
            user = authenticate(
                form.email.data or "",
                form.password.data or "",
                ip_address=request.remote_addr or "unknown",
                max_failures=max_failures,
                window=window,
            )
        if (error := refused.error) is not None:
            form.password.errors = [error.message]
            page = render_template("tiergate/accounts/login.html", form=form)
            return page, 429, {"Retry-After": str(error.details["retry_after"])}
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


class StandaloneInvitationSignup:
    """An invited visitor chooses a password, becomes a standalone user and is logged in."""

    def form(self) -> InvitationSignupForm:
        return InvitationSignupForm()

    def create_user(self, email: str, form: Any) -> User:
        return create_user(
            email,
            password=form.password.data or "",
            display_name=form.display_name.data or "",
            actor=Actor.system("invitation"),
        )

    def log_in(self, user: User) -> None:
        _log_in(user)
