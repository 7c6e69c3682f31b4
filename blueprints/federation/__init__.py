"""ActivityPub's HTTP face: discovery, the instance actor, inbox, outbox, followers, note objects."""
from flask import Blueprint

bp = Blueprint("federation", __name__)

from blueprints.federation import views  # noqa: E402,F401
