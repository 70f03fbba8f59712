"""The host application's models."""

from .user import User

__all__ = ["User"]
