"""Mail, the web side: which e-mails a person receives, one-click unsubscribing, links from mails."""
from blueprints.mail.views import bp

__all__ = ["bp"]
