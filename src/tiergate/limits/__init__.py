"""Numeric limits and metered usage: check, reserve, release, report_count, track, usage.

See docs/limits.md.
"""

from .decisions import LimitCheck, LimitReached, PermissionRefused
from .services import check, release, report_count, reserve, track, usage

__all__ = [
    "LimitCheck",
    "LimitReached",
    "PermissionRefused",
    "check",
    "release",
    "report_count",
    "reserve",
    "track",
    "usage",
]
