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
stream on the way. Photos placed in the PDF are JPEG files as they came from the camera (filter
``/DCTDecode``): :func:`strip_jpeg` removes their EXIF (GPS position, camera serial, dates), XMP,
IPTC and comment segments, and whatever follows the end of the image, keeping the pixels and what
decoders need for colour. The exit status says what happened: 0 (rewritten), :data:`PASSWORD`
(it needs a password to be opened), :data:`UNREADABLE` (pypdf could not read or write it, or a
photo in it is no JPEG whose segments can be walked), :data:`TOO_LARGE` (it needed more memory
than allowed); the CPU limit ends the process with SIGXCPU.
"""
from __future__ import annotations

import io
import resource
import sys
from typing import Any

from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject, StreamObject

PASSWORD = 3
UNREADABLE = 4
TOO_LARGE = 5  # it needed more memory than allowed

# Keys whose values describe a document rather than draw it: XMP packets (which repeat the author,
# company and edit history), the creating application's private data and its edit times.
METADATA_KEYS = ("/Metadata", "/PieceInfo", "/LastModified")


class NeedsPassword(Exception):
    """The PDF cannot be opened without a password."""


class BadJpeg(ValueError):
    """A JPEG image whose segments cannot be walked, so its metadata cannot be removed."""


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
            if isinstance(item, StreamObject):
                strip_image(item)
            pending.extend(item.values())  # dict.values(): references unresolved, so the loop can mark them
        elif isinstance(item, ArrayObject):
            pending.extend(item)


# --- photos ------------------------------------------------------------------------------------

_DCT = ("/DCTDecode", "/DCT")


def strip_image(stream: StreamObject) -> None:
    """Replace a JPEG image stream's data by :func:`strip_jpeg` of it, leaving other streams alone."""
    filters = stream.get("/Filter")
    chain = list(filters) if isinstance(filters, ArrayObject) else [filters]
    if not any(name in _DCT for name in chain):
        return
    if chain[-1] not in _DCT:
        raise BadJpeg("DCTDecode before another filter")  # decoded pixels cannot be decoded again
    jpeg = stream.get_data()  # pypdf undoes the filters before DCTDecode and hands on the JPEG as it is
    stripped = strip_jpeg(jpeg)
    if len(chain) == 1 and stripped == jpeg:
        return
    # pypdf's set_data re-encodes Flate streams only; the base class stores bytes as given.
    StreamObject.set_data(stream, stripped)
    stream.decoded_self = None
    parameters = stream.get("/DecodeParms")
    if isinstance(parameters, ArrayObject):  # one entry per filter: keep DCTDecode's own (/ColorTransform)
        parameters = parameters[-1] if parameters else None
    stream[NameObject("/Filter")] = NameObject("/DCTDecode")
    if isinstance(parameters, (DictionaryObject, IndirectObject)):
        stream[NameObject("/DecodeParms")] = parameters
    else:
        stream.pop("/DecodeParms", None)


# Segments of a JPEG file kept by the prefix of their data: JFIF (APP0) and Adobe (APP14) say how to
# turn the samples into colours, an ICC profile (APP2) which colours they are. Every other
# application segment goes (APP1 EXIF and XMP, APP13 IPTC/Photoshop, APP2 MPF, JFXX thumbnails…),
# and so do comments (COM).
_KEPT_APPLICATION_SEGMENTS = {0xE0: b"JFIF\x00", 0xE2: b"ICC_PROFILE\x00", 0xEE: b"Adobe"}
_COMMENT = 0xFE
_SOS, _EOI = 0xDA, 0xD9
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM and RST0-7 have no length field


def strip_jpeg(data: bytes) -> bytes:
    """Return the JPEG ``data`` without its metadata segments, or raise :class:`BadJpeg`.

    The walk goes from marker to marker (each segment states its length); after a start of scan
    the compressed data runs to the next marker that is neither a stuffed 0xFF00 nor a restart
    marker, so progressive files, with several scans and tables between them, are walked whole.
    The end-of-image marker ends the copy: phones append depth maps, second images and their
    own records after it. A file cut short inside its compressed data keeps what it has, as
    viewers show it; one cut short inside a segment, or not starting with SOI, is refused.
    """
    if data[:2] != b"\xff\xd8":
        raise BadJpeg("no start of image")
    out = [b"\xff\xd8"]
    position, size = 2, len(data)
    while True:
        if position >= size:
            raise BadJpeg("ends before its image data")
        if data[position] != 0xFF:
            raise BadJpeg("a segment does not start with a marker")
        while position < size and data[position] == 0xFF:  # fill bytes may precede any marker
            position += 1
        if position >= size:
            raise BadJpeg("ends in fill bytes")
        marker = data[position]
        position += 1
        if marker == _EOI:
            out.append(b"\xff\xd9")
            return b"".join(out)
        if marker in _STANDALONE:
            out.append(bytes((0xFF, marker)))
            continue
        if marker in (0x00, 0xD8):
            raise BadJpeg("a stuffed byte or a second start of image between segments")
        length = int.from_bytes(data[position:position + 2], "big")
        if position + 2 > size or length < 2 or position + length > size:
            raise BadJpeg("a segment runs past the end of the file")
        segment = data[position:position + length]
        if _keep_segment(marker, segment[2:]):
            out.append(bytes((0xFF, marker)) + segment)
        position += length
        if marker == _SOS:
            end = _end_of_scan(data, position)
            out.append(data[position:end])
            if end == size:
                return b"".join(out)  # cut short inside the scan
            position = end


def _keep_segment(marker: int, payload: bytes) -> bool:
    """Tell whether a segment draws the image (kept) or describes it (dropped)."""
    if 0xE0 <= marker <= 0xEF:
        prefix = _KEPT_APPLICATION_SEGMENTS.get(marker)
        return prefix is not None and payload.startswith(prefix)
    return marker != _COMMENT


def _end_of_scan(data: bytes, position: int) -> int:
    """Return where the compressed data starting at ``position`` ends: at the next real marker, or the end."""
    size = len(data)
    while True:
        position = data.find(b"\xff", position)
        if position < 0 or position + 1 >= size:
            return size
        following = data[position + 1]
        if following == 0xFF:  # a fill byte: the marker, if any, starts after it
            if position + 2 < size and data[position + 2] not in (0x00, *range(0xD0, 0xD8)):
                return position
            position += 1
        elif following == 0x00 or 0xD0 <= following <= 0xD7:
            position += 2  # a stuffed 0xFF inside the data, or a restart marker
        else:
            return position


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
    except Exception:  # pypdf raises many types on malformed input, BadJpeg a photo we cannot clean: "unreadable"
        return UNREADABLE
    sys.stdout.buffer.write(result)
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), int(sys.argv[2])))
