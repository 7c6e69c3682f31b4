"""The JSON API for partner systems (/api/v1)."""
from blueprints.api.views import bp

__all__ = ["bp"]
