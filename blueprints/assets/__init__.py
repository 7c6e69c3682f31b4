"""Static files under content-hashed URLs (/assets/<hash>/<file>), kept by browsers for a year."""
from blueprints.assets.views import bp

__all__ = ["bp"]
