"""Rewrite a PDF without its document metadata, in a process of its own.

:mod:`hub.services.attachments` runs this file by its path (``python -I pdf_rewrite.py SECONDS
BYTES``): the PDF comes in on standard input and the rewritten file goes out on standard output.
The process imports pypdf and the standard library only, nothing of the hub, and first limits
itself to SECONDS of CPU time and BYTES of memory: pypdf is a parser of untrusted files, and some
files make it work for minutes (a cross-reference table whose entries all point to the wrong
place has it search the whole file once per object) or allocate without bound. Whatever it meets,
the upload gets an answer and the web worker's other requests go on.

The copy starts from the catalogue, so the trailer's ``/Info`` dictionary, its ``/ID`` and objects
nothing refers to are left behind; :data:`METADATA_KEYS` are removed from every dictionary and
stream on the way. The exit status says what happened: 0 (rewritten), :data:`PASSWORD` (it needs a
password to be opened), :data:`UNREADABLE` (pypdf could not read or write it), :data:`TOO_LARGE`
(it needed more memory than allowed); the CPU limit ends the process with SIGXCPU.
"""
from __future__ import annotations

import io
import resource
import sys
from typing import Any

from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

PASSWORD = 3
UNREADABLE = 4
TOO_LARGE = 5  # it needed more memory than allowed

# Keys whose values describe a document rather than draw it: XMP packets (which repeat the author,
# company and edit history), the creating application's private data and its edit times.
METADATA_KEYS = ("/Metadata", "/PieceInfo", "/LastModified")


class NeedsPassword(Exception):
    """The PDF cannot be opened without a password."""


def rewrite(data: bytes) -> bytes:
    """Return ``data`` copied from its catalogue down, without the document metadata."""
    reader = PdfReader(io.BytesIO(data), strict=False)
    # A file that only restricts changes opens with the empty password, and is written decrypted.
    if reader.is_encrypted and not reader.decrypt(""):
        raise NeedsPassword
    writer = PdfWriter()
    writer.clone_reader_document_root(reader)  # the trailer's /Info and /ID are not copied
    writer.pdf_header = reader.pdf_header
    drop_metadata(writer.root_object)
    writer.compress_identical_objects(remove_duplicates=False)  # drops the metadata streams left unreferenced
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def drop_metadata(root: DictionaryObject) -> None:
    """Remove :data:`METADATA_KEYS` from every dictionary and stream reachable from ``root``."""
    seen: set[int] = set()
    pending: list[Any] = [root]
    while pending:  # a loop, not recursion: page trees refer back to their parents, and nesting can be deep
        item = pending.pop()
        if isinstance(item, IndirectObject):
            if item.idnum in seen:
                continue
            seen.add(item.idnum)
            item = item.get_object()
        if isinstance(item, DictionaryObject):  # streams too: their dictionaries carry /Metadata
            for key in METADATA_KEYS:
                item.pop(key, None)
            pending.extend(item.values())  # dict.values(): references unresolved, so the loop can mark them
        elif isinstance(item, ArrayObject):
            pending.extend(item)


def main(seconds: int, memory: int) -> int:
    """Limit this process, rewrite standard input to standard output, and return the exit status."""
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    try:
        result = rewrite(sys.stdin.buffer.read())
    except NeedsPassword:
        return PASSWORD
    except MemoryError:
        return TOO_LARGE
    except Exception:  # pypdf raises many types on malformed input (MemoryError too); all mean "unreadable"
        return UNREADABLE
    sys.stdout.buffer.write(result)
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), int(sys.argv[2])))
