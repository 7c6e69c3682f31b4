"""Practice notes: lists, the editor, the note page, comments, marks and flags."""
from blueprints.notes.views import bp
from blueprints.notes import attachments  # noqa: F401  (its routes join the notes blueprint)

__all__ = ["bp"]
