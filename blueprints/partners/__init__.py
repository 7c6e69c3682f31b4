"""Administration of partner hubs: follow, allow-list, trust, block, dead letters, backfill."""
from blueprints.partners.views import bp

__all__ = ["bp"]
