"""The interface catalogues: where they live and how they are compiled (no request needed).

The source catalogues are the checkout's top-level ``translations/`` folder. An installed hub
(``pip install .``) has no checkout: the build (``setup.py``) compiles them into the package's
own ``hub/translations/``, which :func:`catalogue_dir` then prefers. Choosing a reader's
language from a request lives on the web side (``blueprints.web.locale``).
"""
from __future__ import annotations

import os
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"  # the checkout's .po files
PACKAGED = Path(__file__).resolve().parent / "translations"  # compiled into an installed package by setup.py


def catalogue_dir() -> Path:
    """Return the folder whose compiled catalogues this hub reads: the package's, else the checkout's."""
    return PACKAGED if PACKAGED.is_dir() else TRANSLATIONS


def compile_catalogues(directory: Path = TRANSLATIONS) -> list[Path]:
    """Compile every ``messages.po`` under ``directory`` whose ``.mo`` is missing or older."""
    compiled = []
    for po_path in sorted(directory.glob("*/LC_MESSAGES/messages.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name)
        # Written aside and moved into place: a process reading the catalogue meanwhile (another test
        # process, a running hub) reads the old file or the new one, never half of one.
        partial = mo_path.with_name(f"{mo_path.name}.{os.getpid()}.partial")
        with partial.open("wb") as mo_file:
            write_mo(mo_file, catalog, use_fuzzy=False)
        os.replace(partial, mo_path)
        compiled.append(mo_path)
    return compiled
