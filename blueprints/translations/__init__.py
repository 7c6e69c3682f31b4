"""Translating notes: the queue of work, starting a translation, asking for one."""
from blueprints.translations.views import bp

__all__ = ["bp"]
