"""Joining an account by invitation: /invitations/<token>.

A logged-in user whose e-mail the invitation names accepts it with one button. A visitor is
sent to log in (the application's log-in page), or, where the application lets people sign up
on the spot (the standalone app does: ``TierGateState.invitation_signup``), chooses a
password and joins.
"""

from __future__ import annotations

from typing import Any, Protocol

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
from flask_wtf import FlaskForm

from ...accounts import users
from ...accounts.models import Account, Invitation
from ...accounts.seats import (
    AlreadyMember,
    accept_invitation,
    find_invitation,
    settle_invitation_of_member,
)
from ...audit.services import Actor
from ...db import (
    begin_write_transaction,
    db,
    refusable_transaction,
    request_transaction,
    utcnow,
)
from ...entitlements.decorators import SESSION_ACCOUNT
from ...errors import NotFound, TiergateError
from ..forms import ActionForm, attach_error
from .once import NO_STORE

invitation_pages = Blueprint("invitations", __name__)


class InvitationSignup(Protocol):
    """How an application lets an invited visitor sign up and join at once."""

    def form(self) -> FlaskForm:
        """Return the sign-up form (it validates the password and its confirmation)."""
        ...

    def prepare(self, form: FlaskForm) -> Any:
        """Do the slow part (hash the password) before the write transaction; return it."""
        ...

    def create_user(self, email: str, form: FlaskForm, prepared: Any) -> Any:
        """Create the user for ``email`` from the form and ``prepared``; flush, never commit."""
        ...

    def log_in(self, user: Any) -> None:
        """Log the new user in (after the commit)."""
        ...


def _signup() -> InvitationSignup | None:
    signup: InvitationSignup | None = current_app.extensions["tiergate"].invitation_signup
    return signup


def _state(invitation: Invitation) -> str:
    if invitation.accepted_at is not None:
        return "accepted"
    if invitation.revoked_at is not None:
        return "revoked"
    return "pending" if invitation.is_pending(utcnow()) else "expired"


def _login_url(token: str) -> str | None:
    """The application's log-in page, coming back here; None without Flask-Login's view."""
    manager = getattr(current_app, "login_manager", None)
    view = getattr(manager, "login_view", None)
    if not view:
        return None
    return url_for(view, next=url_for("tiergate.invitations.invitation", token=token))


def _page(token: str, invitation: Invitation, form: Any, status: int = 200) -> Any:
    user = users.current()
    page = render_template(
        "tiergate/accounts/invitation.html",
        token=token,
        invitation=invitation,
        account=db.session.get_one(Account, invitation.account_id),
        state=_state(invitation),
        user_email=users.email_of(user).lower() if user is not None else None,
        existing_user=users.find_by_email(invitation.email) is not None,
        can_sign_up=_signup() is not None,
        login_url=_login_url(token),
        form=form,
    )
    # The page carries the link's token (in its form and log-in link): never cached.
    return page, status, NO_STORE


@invitation_pages.route("/invitations/<token>", methods=["GET", "POST"])
def invitation(token: str) -> Any:
    """Show an invitation; accept it as the logged-in user, or by signing up where allowed."""
    try:
        found = find_invitation(token)
    except NotFound:
        return render_template("tiergate/accounts/invitation_missing.html"), 404
    user = users.current()
    signup = _signup()
    form = ActionForm() if user is not None or signup is None else signup.form()
    if request.method == "GET" or not form.validate_on_submit():
        return _page(token, found, form, 422 if form.errors else 200)
    if user is None and signup is None:
        return users.ask_to_log_in()
    # Outside the write transaction: on SQLite it holds the whole database's lock.
    try:
        prepared = signup.prepare(form) if user is None and signup is not None else None
    except TiergateError as refusal:
        return _page(token, found, _with_error(form, refusal), refusal.status)
    with refusable_transaction(TiergateError) as refused:
        begin_write_transaction()
        joining = user if user is not None else signup.create_user(found.email, form, prepared)  # type: ignore[union-attr]
        accept_invitation(token, joining, actor=Actor.user(joining))
    if (error := refused.error) is not None:
        if isinstance(error, AlreadyMember) and user is not None:
            _settle(token, user, found.account_id)
        db.session.refresh(found)  # the page shows the invitation as it now is
        return _page(token, found, _with_error(form, error), error.status)
    if user is None and signup is not None:
        signup.log_in(joining)
    session[SESSION_ACCOUNT] = found.account_id
    joined = db.session.get_one(Account, found.account_id)
    flash(f"You joined {joined.name}.", "success")
    return redirect(url_for("tiergate.account.overview", account=joined.slug))


def _settle(token: str, user: Any, account_id: int) -> None:
    """Revoke the invitation a member cannot accept, so it stops holding a seat."""
    # Its own transaction: the refused acceptance was rolled back.
    with request_transaction():
        settle_invitation_of_member(token, user, actor=Actor.user(user))
    # The page then shows the invitation as withdrawn; this says why.
    name = db.session.get_one(Account, account_id).name
    flash(f"You are already a member of {name}: this invitation is no longer needed.", "error")


def _with_error(form: Any, error: TiergateError) -> Any:
    if isinstance(form, ActionForm):
        form.form_errors.append(error.message)
    else:
        attach_error(form, error, "password")
    return form
