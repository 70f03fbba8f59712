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
from werkzeug.routing import BuildError
from werkzeug.wrappers import Response as BaseResponse

from ..accounts.models import Account
from ..accounts.services import create_account, slugify
from ..audit.services import Actor
from ..db import (
    begin_write_transaction,
    db,
    refusable_transaction,
    request_transaction,
    utcnow,
)
from ..errors import TiergateError
from ..web.csrf import csrf_failed, protect_from_csrf
from ..web.forms import attach_error
from ..web.input import refuse_bad_page_input
from .auth import check_credentials
from .emails import queue_already_registered, queue_verification
from .forms import ButtonForm, InvitationSignupForm, LoginForm, SignupForm
from .sessions import end_session, start_session, use_session
from .throttle import (
    ThrottleLimits,
    TooManyLoginAttempts,
    clear_login_failures,
    normalise_attempt,
    start_login_attempt,
)
from .users import User, create_user, find_user, hash_password

#: What sign-up answers, whether or not the address already has a user (it tells nobody):
#: a new user gets a verification link, a registered address a "you already have an account".
SIGNED_UP = (
    "Thank you for signing up: we have sent you a message. Follow its link to confirm your "
    "address, then log in with your e-mail address and password."
)

standalone_pages = Blueprint("standalone", __name__)


@standalone_pages.get("/")
def index() -> BaseResponse:
    """Send visitors to the pricing page until there is a home page."""
    return redirect(url_for("tiergate.web.pricing"))


# The same input rules and CSRF check as tiergate's own pages, in that order.
standalone_pages.before_request(refuse_bad_page_input)
standalone_pages.before_request(protect_from_csrf)
standalone_pages.register_error_handler(CSRFError, csrf_failed)


def _landing() -> str:
    """Return where a log-in lands: the account page, or home where it is not mounted."""
    try:
        return url_for("tiergate.account.overview")
    except BuildError:
        return url_for("standalone.index")


def _safe_next(target: str | None) -> str:
    """Return ``target`` when it is a path on this site, else the account page."""
    landing = _landing()
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return landing
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else landing


def log_in_fresh(user: User, *, remember: bool = False) -> None:
    """Start a new session for ``user``: nothing from before it survives (session fixation).

    Its own transaction: call it after the request's writes are committed.
    """
    session.clear()
    with request_transaction():
        begin_write_transaction()
        session_id = start_session(user)
    use_session(user, session_id)
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
    """Create a user and an account they own; answer the same for a registered address."""
    if current_user.is_authenticated:
        return redirect(url_for("standalone.index"))
    form = SignupForm()
    if form.validate_on_submit():
        try:
            with refusable_transaction(TiergateError) as refused:
                # Argon2 first: the database's write lock is not held while it runs.
                password_hash = hash_password(form.password.data or "")
                _sign_up(form, password_hash)
        except sa.exc.IntegrityError:
            # The same address signed up at the same moment: the same answer as when taken.
            pass
        if refused.error is None:
            flash(SIGNED_UP, "info")
            return redirect(url_for("standalone.login"))
        attach_error(form, refused.error, "email", aliases={"name": "account_name"})
    status = 422 if form.errors else 200
    return render_template("tiergate/accounts/signup.html", form=form), status


def _sign_up(form: SignupForm, password_hash: str) -> None:
    """Create the user and their account, unless the address is taken (then tell it by mail)."""
    begin_write_transaction()
    email = form.email.data or ""
    registered = find_user(email)
    if registered is not None:
        # Said only to the address itself: the page is the same as for a new user.
        queue_already_registered(registered)
        return
    user = create_user(
        email,
        password_hash=password_hash,
        display_name=form.display_name.data or "",
        actor=Actor.system("signup"),
    )
    name = (form.account_name.data or "").strip()
    create_account(name, owner=user, actor=Actor.user(user), slug=_free_slug(name))
    queue_verification(user)


def _throttle_limits() -> ThrottleLimits:
    config = current_app.config
    minutes = float(config["TIERGATE_LOGIN_FAILURE_WINDOW_MINUTES"])
    return ThrottleLimits(int(config["TIERGATE_LOGIN_MAX_FAILURES"]), timedelta(minutes=minutes))


def _attempt_log_in(form: LoginForm) -> User | None:
    """Count the attempt (committed), then check the password outside any write transaction."""
    email, ip_address = normalise_attempt(form.email.data or "", request.remote_addr)
    # A fresh transaction whose first statement takes the throttle's lock (see throttle).
    db.session.rollback()
    with request_transaction():
        start_login_attempt(email, ip_address, _throttle_limits())
    user = check_credentials(email, form.password.data or "")
    if user is not None:
        with request_transaction():
            begin_write_transaction()
            clear_login_failures(email, ip_address)
    return user


@standalone_pages.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Log in with e-mail and password."""
    target = _safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(target)
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = _attempt_log_in(form)
        except TooManyLoginAttempts as error:
            form.password.errors = [error.message]
            page = render_template("tiergate/accounts/login.html", form=form)
            return page, 429, {"Retry-After": str(error.details["retry_after"])}
        if user is not None:
            log_in_fresh(user, remember=bool(form.remember.data))
            return redirect(target)
        form.password.errors = ["Wrong e-mail or password."]
    if form.errors:
        status = 422
    return render_template("tiergate/accounts/login.html", form=form), status


@standalone_pages.route("/logout", methods=["GET", "POST"])
def logout() -> Any:
    """Log out: end this session on the server, forget the session and the cookie.

    The user's sessions in other browsers stay open ("log out everywhere" ends those).
    """
    if request.method == "GET":
        if not current_user.is_authenticated:
            return redirect(url_for("standalone.login"))
        return render_template("tiergate/standalone/logout.html", form=ButtonForm())
    if current_user.is_authenticated:
        with request_transaction():
            begin_write_transaction()
            end_session(current_user.get_id())
    session.clear()
    # After the clear: Flask-Login marks the remember cookie for deletion in the session,
    # and deletes it when the response goes out.
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("standalone.login"))


class StandaloneInvitationSignup:
    """An invited visitor chooses a password, becomes a standalone user and is logged in."""

    def form(self) -> InvitationSignupForm:
        return InvitationSignupForm()

    def prepare(self, form: Any) -> str:
        return hash_password(form.password.data or "")

    def create_user(self, email: str, form: Any, prepared: str) -> User:
        user = create_user(
            email,
            password_hash=prepared,
            display_name=form.display_name.data or "",
            actor=Actor.system("invitation"),
        )
        # The invitation link reached this address: it is proved.
        user.email_verified_at = utcnow()
        return user

    def log_in(self, user: User) -> None:
        log_in_fresh(user)
