"""/account/members: the team, seats, invitations; owners and admins change them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from ...accounts import users
from ...accounts.members import (
    ROLE_RANK,
    assignable_roles,
    change_role,
    ensure_may_manage,
    members_query,
    pending_invitations,
    resend_invitation,
    revoke_pending_invitation,
    role_rank,
)
from ...accounts.models import Invitation, Membership
from ...accounts.seats import SeatLimitReached, invite_member, remove_member
from ...audit.services import Actor
from ...db import db, refusable_transaction, utcnow
from ...entitlements.services import fresh_entitlements, get_cache
from ...errors import TiergateError
from ..forms import ActionForm, InviteForm, RoleForm, attach_error, post_target, role_choices
from ..pagination import Keyset, keyset_page
from . import account_pages
from .context import (
    AccountContext,
    account_context_for,
    current_account,
    memberships_of,
    no_account_page,
    not_allowed_page,
    signed_in_user,
)
from .once import NO_STORE, show_once, take_once

#: An account with thousands of members is shown a page of them at a time.
MEMBERS_PER_PAGE = 100
MEMBERS_ORDER = Keyset((ROLE_RANK, Membership.id), role_rank, numbers=True)


def _invite_form(ctx: AccountContext, **kwargs: Any) -> InviteForm:
    form = InviteForm(**kwargs)
    form.role.choices = role_choices(assignable_roles(ctx.role))
    return form


def _role_form(ctx: AccountContext, membership: Membership, **kwargs: Any) -> RoleForm:
    form = RoleForm(prefix=f"member-{membership.id}", **kwargs)
    form.role.choices = role_choices(assignable_roles(ctx.role))
    if kwargs.get("formdata", True) is None:
        form.role.data = membership.role
    return form


def render_members(
    ctx: AccountContext,
    *,
    invite_form: InviteForm | None = None,
    role_form: RoleForm | None = None,
    role_form_for: int | None = None,
    invite_link: str | None = None,
    invited: Invitation | None = None,
    seat_error: SeatLimitReached | None = None,
    status: int = 200,
) -> tuple[str, int, dict[str, str]]:
    """Render the members page; a form with errors is shown as it was sent."""
    now = utcnow()
    # Computed now, not from the per-worker cache: this page is read right after changes
    # that another worker may have made.
    entitlements = fresh_entitlements(ctx.account.id, now)
    listed = keyset_page(members_query(ctx.account), MEMBERS_ORDER, MEMBERS_PER_PAGE)
    members = users.attach(listed.items)
    role_forms = {m.id: _role_form(ctx, m, formdata=None) for m in members}
    if role_form is not None and role_form_for is not None:
        role_forms[role_form_for] = role_form
    tiers = {tier.key: tier for tier in get_cache().catalog().tiers.values()}
    upgrade_keys = seat_error.details.get("upgrade_to", []) if seat_error else None
    if upgrade_keys is None and entitlements.seats_free == 0:
        upgrade_keys = get_cache().catalog().seat_tiers_above(entitlements.seats_used + 1)
    if not ctx.can_manage:
        upgrade_keys = None  # only those who change billing are offered an upgrade
    page = render_template(
        "tiergate/account/members.html",
        ctx=ctx,
        entitlements=entitlements,
        members=members,
        page=listed,
        invitations=pending_invitations(ctx.account, now),
        invitation_roles=assignable_roles(ctx.role),
        role_forms=role_forms,
        invite_form=invite_form or _invite_form(ctx, formdata=None),
        invite_link=invite_link,
        invited=invited,
        seat_error=seat_error,
        upgrades=[tiers[key] for key in upgrade_keys or () if key in tiers],
        me=signed_in_user().id,
    )
    return page, status, NO_STORE if invite_link else {}


def _managing(account_id: int) -> AccountContext | tuple[str, int]:
    """Return the context of an account the user manages, a 403 page for a member, else 404."""
    ctx = account_context_for(account_id)
    if not ctx.can_manage:
        return not_allowed_page("Only an owner or an admin can change the team.", ctx)
    return ctx


def _back(ctx: AccountContext) -> BaseResponse:
    return redirect(url_for("tiergate.account.members", account=ctx.account.slug), code=303)


@account_pages.route("/members", methods=["GET", "POST"])
def members() -> Any:
    """Show the team and seats; a POST invites someone (owners and admins)."""
    ctx = current_account()
    if ctx is None:
        return no_account_page()
    if request.method != "POST":
        return render_members(ctx, **_shown_link(ctx))
    if not ctx.can_manage:
        return not_allowed_page("Only an owner or an admin can invite people.", ctx)
    form = _invite_form(ctx)
    if not form.validate_on_submit():
        return render_members(ctx, invite_form=form, status=422)
    user = signed_in_user()
    with refusable_transaction(TiergateError) as refused:
        ensure_may_manage(ctx.role, new_role=form.role.data)
        invitation, token = invite_member(
            ctx.account,
            form.email.data or "",
            role=form.role.data or "member",
            actor=Actor.user(user),
            invited_by=user,
        )
        _keep_link(ctx, invitation, token)
    error = refused.error
    if isinstance(error, SeatLimitReached):
        return render_members(ctx, invite_form=form, seat_error=error, status=error.status)
    if error is not None:
        attach_error(form, error, "email")
        return render_members(ctx, invite_form=form, status=error.status)
    return _back(ctx)


def _keep_link(ctx: AccountContext, invitation: Invitation, token: str) -> None:
    """Keep a new invitation link for the members page to show once, after the redirect."""
    link = url_for("tiergate.invitations.invitation", token=token, _external=True)
    show_once("invitation", ctx, invitation.id, link)


def _shown_link(ctx: AccountContext) -> dict[str, Any]:
    """Return the invitation link kept for this page (shown this once), if any."""
    kept = take_once("invitation", ctx)
    invitation = db.session.get(Invitation, kept.subject_id) if kept else None
    if kept is None or invitation is None:
        return {}
    return {"invite_link": kept.secret, "invited": invitation}


def _members_page(**_: Any) -> str:
    return url_for("tiergate.account.members")


@account_pages.route("/members/<int:membership_id>/role", methods=["GET", "POST"])
@post_target(_members_page)
def change_member_role(membership_id: int) -> Any:
    """Give a member another role."""
    membership = _visible_membership(membership_id) or abort(404)
    users.attach([membership])
    ctx = _managing(membership.account_id)
    if not isinstance(ctx, AccountContext):
        return ctx
    if membership.role == "owner" and ctx.role != "owner":
        return not_allowed_page("Only an owner can change or remove another owner.", ctx)
    form = _role_form(ctx, membership)
    if not form.validate_on_submit():
        return render_members(ctx, role_form=form, role_form_for=membership.id, status=422)
    with refusable_transaction(TiergateError) as refused:
        change_role(
            membership,
            form.role.data or "",
            manager_role=ctx.role,
            actor=Actor.user(signed_in_user()),
        )
    if (error := refused.error) is not None:
        form.role.errors = [*form.role.errors, error.message]
        return render_members(ctx, role_form=form, role_form_for=membership_id, status=error.status)
    flash(f"{membership.user.email} is now {membership.role}.", "success")
    return _back(ctx)


@account_pages.route("/members/<int:membership_id>/remove", methods=["GET", "POST"])
def remove(membership_id: int) -> Any:
    """Ask to confirm, then remove a member from the account."""
    membership = _visible_membership(membership_id)
    if membership is None:
        # Reloading the confirm page of someone just removed: say so rather than a bare 404
        # (the same answer for an unknown id and another account's, so ids tell nothing).
        flash("This person is no longer a member.", "info")
        return redirect(url_for("tiergate.account.members"), code=303)
    users.attach([membership])
    ctx = _managing(membership.account_id)
    if not isinstance(ctx, AccountContext):
        return ctx
    if membership.role == "owner" and ctx.role != "owner":
        return not_allowed_page("Only an owner can change or remove another owner.", ctx)
    email = membership.user.email
    return _confirmed(
        ctx,
        lambda: remove_member(membership, actor=Actor.user(signed_in_user())),
        done=f"{email} was removed from {ctx.account.name}.",
        template="tiergate/account/confirm_remove.html",
        membership=membership,
    )


def _visible_membership(membership_id: int) -> Membership | None:
    """Return the membership when it is in one of the user's accounts, else None."""
    membership = db.session.get(Membership, membership_id)
    mine = {account.id for account, _ in memberships_of(signed_in_user())}
    return membership if membership is not None and membership.account_id in mine else None


def _confirmed(
    ctx: AccountContext, action: Callable[[], object], *, done: str, template: str, **page: Any
) -> Any:
    """Show a confirm page; on a confirmed POST run ``action``, commit and go back.

    A refused action is rolled back and the confirm page shows the problem.
    """
    form = ActionForm()
    problem = None
    if form.validate_on_submit():
        with refusable_transaction(TiergateError) as refused:
            action()
        problem = refused.error
        if problem is None:
            flash(done, "success")
            return _back(ctx)
    html = render_template(template, ctx=ctx, form=form, problem=problem, **page)
    return html, problem.status if problem else 200


def _open_invitation(invitation_id: int) -> Invitation:
    return db.session.get(Invitation, invitation_id) or abort(404)


def _managing_invitation(invitation: Invitation) -> AccountContext | tuple[str, int]:
    """Return the context when the user may resend or revoke ``invitation``, else a page."""
    ctx = _managing(invitation.account_id)
    if isinstance(ctx, AccountContext) and invitation.role not in assignable_roles(ctx.role):
        return not_allowed_page("Only an owner can change an owner's invitation.", ctx)
    return ctx


@account_pages.route("/invitations/<int:invitation_id>/resend", methods=["GET", "POST"])
@post_target(_members_page)
def resend(invitation_id: int) -> Any:
    """Make a new one-time link for an invitation (the old link stops working)."""
    invitation = _open_invitation(invitation_id)
    ctx = _managing_invitation(invitation)
    if not isinstance(ctx, AccountContext):
        return ctx
    if not ActionForm().validate_on_submit():
        abort(400)
    with refusable_transaction(TiergateError) as refused:
        invitation, token = resend_invitation(
            invitation, manager_role=ctx.role, actor=Actor.user(signed_in_user())
        )
        _keep_link(ctx, invitation, token)
    error = refused.error
    if isinstance(error, SeatLimitReached):
        return render_members(ctx, seat_error=error, status=error.status)
    if error is not None:
        flash(error.message, "error")
        return _back(ctx)
    return _back(ctx)


@account_pages.route("/invitations/<int:invitation_id>/revoke", methods=["GET", "POST"])
def revoke(invitation_id: int) -> Any:
    """Ask to confirm, then revoke a pending invitation, freeing its seat."""
    invitation = _open_invitation(invitation_id)
    ctx = _managing_invitation(invitation)
    if not isinstance(ctx, AccountContext):
        return ctx
    return _confirmed(
        ctx,
        lambda: revoke_pending_invitation(
            invitation, manager_role=ctx.role, actor=Actor.user(signed_in_user())
        ),
        done=f"The invitation for {invitation.email} was revoked.",
        template="tiergate/account/confirm_revoke.html",
        invitation=invitation,
    )
