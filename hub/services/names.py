"""The names people give things — pseudonyms, note titles and tags, project and topic names.

One check for all of them (hub.text_safety), with one message per problem in the user's language.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from hub import text_safety
from hub.services.errors import ServiceError

_MESSAGES = {
    "invisible": _l("Remove the invisible or direction-changing characters (zero-width spaces, "
                    "right-to-left marks and the like): they can hide or reverse text."),
    "empty": _l("Use visible characters: without its invisible characters this is blank."),
}


def clean(value: str, *, field: str) -> str:
    """Return the name NFC-normalised and stripped, or raise a field error a person can act on."""
    try:
        return text_safety.clean_name(value)
    except text_safety.UnsafeName as error:
        raise ServiceError(_MESSAGES[error.reason], field=field) from None
