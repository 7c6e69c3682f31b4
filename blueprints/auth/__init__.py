"""Signing up, in and out; the person's own account."""
from blueprints.auth.views import bp

__all__ = ["bp"]
