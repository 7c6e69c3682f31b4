"""The search page."""
from blueprints.search.views import bp

__all__ = ["bp"]
