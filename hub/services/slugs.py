"""Short names (slugs) made from any name: Chinese in pinyin, other letters without accents, else a number.

``slug_for("People's Daily 1998")`` is ``peoples-daily-1998``, ``slug_for("人民日报")`` is
``ren-min-ri-bao``; a name with nothing to keep (``"！！"``, a script without Latin letters) gets
the fallback, and a slug already taken gets ``-2``, ``-3``… The name itself is kept as the title:
a slug only has to be valid, unique and readable in a URL.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Container

from hub.services import pinyin

HAN_RE = re.compile(r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)")
MAX_LENGTH = 64


def _latin(text: str) -> str:
    """Return ``text`` with accents taken off and anything but letters and digits turned into spaces."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]+", " ", folded.replace("'", "").replace("’", ""))


def slug_for(name: str, *, taken: Container[str] = (), fallback: str = "item", min_length: int = 3) -> str:
    """Return a slug of ``name``: lower-case a-z, 0-9 and dashes, ``min_length`` to 64 characters, not in ``taken``."""
    words = []
    for part in HAN_RE.split(name):
        words.extend(pinyin.syllables(part) if HAN_RE.fullmatch(part) else _latin(part).split())
    base = "-".join(w.lower() for w in words if w)[:MAX_LENGTH - 4].strip("-")
    if len(base) < min_length:
        base = fallback
    slug, number = base, 2
    while slug in taken:
        slug, number = f"{base}-{number}", number + 1
    return slug
