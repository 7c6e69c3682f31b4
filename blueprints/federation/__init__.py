"""ActivityPub's HTTP face: discovery, the instance actor, inbox, outbox, followers, note objects."""
from blueprints.federation.views import bp

__all__ = ["bp"]
