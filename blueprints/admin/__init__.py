"""Administration: users, invitations, projects, the audit log."""
from blueprints.admin.views import bp

__all__ = ["bp"]
