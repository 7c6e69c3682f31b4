"""Public pages: home, projects."""
from blueprints.main.views import bp

__all__ = ["bp"]
