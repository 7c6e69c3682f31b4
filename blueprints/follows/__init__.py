"""Following: the list of what a person follows, and the follow buttons on topic, project and search pages."""
from blueprints.follows.views import bp

__all__ = ["bp"]
