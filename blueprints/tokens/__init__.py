"""Pages for tokens: a person's API tokens and feed address, an administrator's organisation tokens."""
from blueprints.tokens.views import bp

__all__ = ["bp"]
