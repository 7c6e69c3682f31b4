"""Public pages: home, projects, health."""
from blueprints.main.views import bp

__all__ = ["bp"]
