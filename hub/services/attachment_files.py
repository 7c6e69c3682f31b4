"""Where the bytes of attachments live: one file per SHA-256 under ``instance/attachments/``.

Files are written atomically (no reader sees half a file), shared by every attachment with the
same content, and deleted once no attachment uses them (:func:`discard_unused`). The attachment
rules (what is accepted, who may attach) are :mod:`hub.services.attachments`; a deleted note
(:mod:`hub.services.notes`) discards its files here too.
"""
from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from hub.extensions import db
from hub.models import Attachment

_SHA256 = re.compile(r"[0-9a-f]{64}")


def path_of(attachment: Attachment) -> Path:
    """Return where the bytes of ``attachment`` are stored."""
    return path_for(attachment.sha256)


def open_bytes(attachment: Attachment) -> bytes:
    """Return the stored bytes of ``attachment``."""
    return path_of(attachment).read_bytes()


def discard_unused(digests: Iterable[str]) -> int:
    """Delete the stored files of ``digests`` that no attachment uses any more; return how many.

    Call it after committing anything that deletes attachment rows (a deleted note, too).
    """
    removed = 0
    for digest in set(digests):
        used = db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)
                                 .where(Attachment.sha256 == digest))
        path = path_for(digest)
        if not used and path.exists():
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def path_for(digest: str) -> Path:
    """Return where the bytes with SHA-256 ``digest`` are stored."""
    if not _SHA256.fullmatch(digest):
        raise ValueError("not a SHA-256 hex digest")  # never build a path from anything else
    return Path(current_app.instance_path) / "attachments" / digest[:2] / digest


def store(data: bytes, digest: str) -> None:
    """Write ``data`` under its digest through a temporary file, so no reader sees half a file."""
    path = path_for(digest)
    if path.exists():
        return  # same content, same bytes
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
