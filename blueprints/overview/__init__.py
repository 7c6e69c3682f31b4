"""Practices at a glance (/overview): where notes come from, topics over the years, projects' topics."""
from blueprints.overview.views import bp

__all__ = ["bp"]
