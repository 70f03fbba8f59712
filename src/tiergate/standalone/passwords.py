"""The standalone app's password rules: long enough, and not a commonly used password.

The list of common passwords (``common_passwords.txt``) ships inside the package, so the check
works offline and tells no third party which passwords are being chosen.
"""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files

from ..errors import ValidationError

MIN_PASSWORD_LENGTH = 8
COMMON_PASSWORD_MESSAGE = (
    "This password is too common: many people use it, so it is among the first an attacker "
    "tries. Choose a longer one, such as a few unrelated words."
)
#: Digits and symbols people append to a common word to pass a rule ("dragon2024!").
_DECORATION = re.compile(r"[\d\W_]+$")


@cache
def common_passwords() -> frozenset[str]:
    """Return the shipped list of common passwords (lower-case)."""
    text = files(__package__).joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def is_common_password(password: str) -> bool:
    """Tell whether ``password`` is, or is a common password plus digits or symbols."""
    candidate = password.strip().lower()
    listed = common_passwords()
    if candidate in listed or len(set(candidate)) <= 2:
        return True
    undecorated = _DECORATION.sub("", candidate)
    return len(undecorated) >= 4 and undecorated in listed


def check_password(password: str) -> None:
    """Refuse a password that is too short or too common."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"the password must be at least {MIN_PASSWORD_LENGTH} characters long",
            field="password",
        )
    if is_common_password(password):
        raise ValidationError(COMMON_PASSWORD_MESSAGE, field="password")
