"""Text for XML documents (the Atom feeds, OAI-PMH): every writer of XML passes its strings through here.

XML 1.0 cannot carry most C0 control characters, U+FFFE/U+FFFF or unpaired surrogates, not even
escaped; lxml (under feedgen too) refuses a whole document that holds one. Notes may carry them
(a partner hub's note, an import, text saved before forms refused them), and one such character
must not take down every feed and harvest: here they are left out of what goes out, while the
note itself stays as it was written.
"""
from __future__ import annotations

import re

# What XML 1.0 allows (https://www.w3.org/TR/xml/#charsets): tab, newline, carriage return,
# U+0020–U+D7FF, U+E000–U+FFFD and U+10000–U+10FFFF. Anything else is stripped.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """Return ``text`` without the characters XML 1.0 cannot carry."""
    return _NOT_XML.sub("", text)


def holds_non_xml(text: str) -> bool:
    """Tell whether ``text`` holds a character XML 1.0 cannot carry."""
    return _NOT_XML.search(text) is not None
