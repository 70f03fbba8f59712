"""Which account a page is about, and the signed-in user's role in it.

A user may belong to several accounts. A page names one with ``?account=<slug>`` (remembered
in the session for the next pages); without it the remembered account is used, else the
user's first. An account the user is not a member of does not exist for them (404), staff
included: the staff console is elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import abort, render_template, request, session

from ...accounts import users
from ...accounts.members import MANAGER_ROLES
from ...accounts.models import Account, Membership
from ...db import db
from ...entitlements.decorators import SESSION_ACCOUNT


@dataclass(frozen=True)
class AccountContext:
    """The account a page shows, the user's role in it, and every account they belong to."""

    account: Account
    role: str
    accounts: tuple[tuple[Account, str], ...]

    @property
    def can_manage(self) -> bool:
        """True for owners and admins: they change billing and the team."""
        return self.role in MANAGER_ROLES

    @property
    def query(self) -> dict[str, str]:
        """URL arguments that keep a link on this account."""
        return {"account": self.account.slug}


def signed_in_user() -> Any:
    """Return the logged-in user (views using it require a log-in)."""
    return users.current()


def memberships_of(user: Any) -> tuple[tuple[Account, str], ...]:
    """Return the user's accounts with their role, by account name."""
    rows = db.session.execute(
        sa.select(Account, Membership.role)
        .join(Membership, Membership.account_id == Account.id)
        .where(Membership.user_id == user.id)
        .order_by(Account.name, Account.id)
    )
    return tuple((account, role) for account, role in rows)


def current_account(*, from_query: bool = True) -> AccountContext | None:
    """Return the account the request is about, or None when the user belongs to none."""
    accounts = memberships_of(signed_in_user())
    wanted = request.args.get("account") if from_query else None
    if wanted is not None:
        found = next((pair for pair in accounts if pair[0].slug == wanted), None)
        if found is None:
            abort(404)  # another account's, or none: its existence is not revealed
        session[SESSION_ACCOUNT] = found[0].id
        return AccountContext(found[0], found[1], accounts)
    if not accounts:
        return None
    chosen = session.get(SESSION_ACCOUNT)
    # Same fallback as the entitlement decorators: the lowest account id.
    found = next((pair for pair in accounts if pair[0].id == chosen), None) or min(
        accounts, key=lambda pair: pair[0].id
    )
    return AccountContext(found[0], found[1], accounts)


def account_context_for(account_id: int) -> AccountContext:
    """Return the context of one account the user belongs to, or 404."""
    accounts = memberships_of(signed_in_user())
    found = next((pair for pair in accounts if pair[0].id == account_id), None)
    if found is None:
        abort(404)
    return AccountContext(found[0], found[1], accounts)


def no_account_page() -> tuple[str, int]:
    """Explain that the user is not a member of any account."""
    return render_template("tiergate/account/no_account.html"), 200


def not_allowed_page(message: str, context: AccountContext) -> tuple[str, int]:
    """Explain that the user's role does not allow a change."""
    return render_template("tiergate/account/not_allowed.html", message=message, ctx=context), 403
