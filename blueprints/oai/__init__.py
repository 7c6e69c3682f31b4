"""OAI-PMH 2.0 for libraries and repositories that harvest the hub's public notes."""
from blueprints.oai.views import bp

__all__ = ["bp"]
