"""The moderators' queue: submissions to review and flags to handle."""
from blueprints.moderation.views import bp

__all__ = ["bp"]
