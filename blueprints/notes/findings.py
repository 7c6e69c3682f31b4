"""Privacy-check findings as people read them: a translated name for each kind of finding.

The live check in the editor, the privacy-check page and the moderator's review all name a
finding's kind through :func:`finding_label`; the editor's script shows the label and the masked
value as the server sends them, so a kind the scanner learns later needs a label here and
nothing in the script. A kind without a label is shown by its code rather than hidden.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from blueprints.notes import bp

KIND_LABELS = {
    "phone": _l("phone number"),
    "id_number": _l("ID number"),
    "email": _l("e-mail address"),
    "sensitive_word": _l("listed name or word"),
}


@bp.app_template_global()
def finding_label(kind: str) -> str:
    """Return the translated name of a kind of finding."""
    return str(KIND_LABELS.get(kind, kind))
