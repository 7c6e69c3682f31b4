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
stream on the way. Photos placed in the PDF carry what the camera wrote, and are cleaned without
touching their compressed pixels:

- JPEG files (filter ``/DCTDecode``): :func:`strip_jpeg` removes their EXIF (GPS position, camera
  serial, dates), XMP, IPTC and comment segments, and whatever follows the end of the image,
  keeping what decoders need for colour;
- JPEG 2000 files (``/JPXDecode``): :func:`strip_jpeg2000` keeps the boxes that draw the image
  (file type, reader requirements, image header with its colour boxes, the one codestream) and
  drops the rest (``xml `` and ``uuid`` boxes with XMP, EXIF and IPTC, UUID lists and URLs,
  intellectual property, labels, free space), and the codestream's comments;
- inline images (``BI … ID … EI`` inside the content streams of pages, forms, patterns, Type 3
  glyphs and annotation appearances): :func:`strip_inline_images` cleans those that are JPEG or
  JPEG 2000 files the same way.

The exit status says what happened: 0 (rewritten), :data:`PASSWORD` (it needs a password to be
opened), :data:`UNREADABLE` (pypdf could not read or write it), :data:`TOO_LARGE` (it needed more
memory than allowed), :data:`IMAGE` (a photo in it cannot be cleaned safely: no JPEG or JPEG 2000
file whose structure can be walked, or one whose pixels live in places this module does not
rewrite); the CPU limit ends the process with SIGXCPU.
"""
from __future__ import annotations

import io
import re
import resource
import sys
import zlib
from collections.abc import Callable, Iterator
from typing import Any

from pypdf import PdfReader, PdfWriter
from pypdf.generic import (ArrayObject, ContentStream, DictionaryObject, EncodedStreamObject, IndirectObject,
                           NameObject, StreamObject)

PASSWORD = 3
UNREADABLE = 4
TOO_LARGE = 5  # it needed more memory than allowed
IMAGE = 6  # a photo in it cannot be cleaned of its metadata safely

# Keys whose values describe a document rather than draw it: XMP packets (which repeat the author,
# company and edit history), the creating application's private data and its edit times.
METADATA_KEYS = ("/Metadata", "/PieceInfo", "/LastModified")


class NeedsPassword(Exception):
    """The PDF cannot be opened without a password."""


class UncleanableImage(ValueError):
    """An image whose metadata cannot be removed without risk to its pixels."""


class BadJpeg(UncleanableImage):
    """A JPEG image whose segments cannot be walked, so its metadata cannot be removed."""


class BadJpeg2000(UncleanableImage):
    """A JPEG 2000 image whose boxes or codestream cannot be walked, or that keeps its pixels elsewhere."""


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
    """Remove :data:`METADATA_KEYS` from every dictionary and stream reachable from ``root``, and the
    metadata of the photos among them and inside their content streams."""
    seen: set[int] = set()
    pending: list[Any] = [root]
    content: dict[int, StreamObject] = {}  # by id(): a stream drawn from several places is cleaned once
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
            content.update((id(stream), stream) for stream in content_streams(item))
            pending.extend(item.values())  # dict.values(): references unresolved, so the loop can mark them
        elif isinstance(item, ArrayObject):
            pending.extend(item)
    for stream in content.values():
        strip_inline_images(stream)


def content_streams(item: DictionaryObject) -> Iterator[StreamObject]:
    """Yield the content streams ``item`` holds or is: where a PDF can place inline images."""
    if item.get("/Type") == "/Page":
        yield from _streams(item.get("/Contents"))
    if isinstance(item, StreamObject) and (item.get("/Subtype") == "/Form" or item.get("/PatternType") == 1):
        yield item
    charprocs = item.get("/CharProcs")  # the glyphs of a Type 3 font
    if isinstance(charprocs, DictionaryObject):
        for glyph in charprocs.values():
            yield from _streams(glyph)
    appearances = item.get("/AP")  # an annotation's looks: a stream, or one per state (not always typed /Form)
    if isinstance(appearances, DictionaryObject):
        for key in ("/N", "/R", "/D"):
            look = appearances.get(key)
            look = look.get_object() if look is not None else None
            is_states = isinstance(look, DictionaryObject) and not isinstance(look, StreamObject)
            for state in look.values() if is_states else [look]:
                yield from _streams(state)


def _streams(value: Any) -> Iterator[StreamObject]:
    """Yield the stream ``value`` refers to, or those of an array of them."""
    value = value.get_object() if value is not None else None
    for item in value if isinstance(value, ArrayObject) else [value]:
        item = item.get_object() if item is not None else None
        if isinstance(item, StreamObject):
            yield item


# --- photos ------------------------------------------------------------------------------------

def strip_image(stream: StreamObject) -> None:
    """Replace a JPEG or JPEG 2000 image stream's data by the image without its metadata, leaving other
    streams alone; the image's own filter stays, the ones before it are undone."""
    filters = stream.get("/Filter")
    chain = list(filters) if isinstance(filters, ArrayObject) else [filters]
    strip = _IMAGE_FILTERS.get(chain[-1])
    if strip is None:
        if any(name in _IMAGE_FILTERS for name in chain):
            raise UncleanableImage("an image filter before another filter")  # decoded pixels cannot be decoded again
        return
    image = stream.get_data()  # pypdf undoes the filters before the image's and hands on the file as it is
    stripped = strip(image)
    if len(chain) == 1 and stripped == image:
        return
    # pypdf's set_data re-encodes Flate streams only; the base class stores bytes as given.
    StreamObject.set_data(stream, stripped)
    stream.decoded_self = None
    parameters = stream.get("/DecodeParms")
    if isinstance(parameters, ArrayObject):  # one entry per filter: keep the image filter's own (/ColorTransform)
        parameters = parameters[-1] if parameters else None
    stream[NameObject("/Filter")] = NameObject(chain[-1])
    if isinstance(parameters, (DictionaryObject, IndirectObject)):
        stream[NameObject("/DecodeParms")] = parameters
    else:
        stream.pop("/DecodeParms", None)


# --- inline images ----------------------------------------------------------------------------

# The BI operator: a cheap test that spares parsing the content streams that have no inline image.
_BEGIN_IMAGE = re.compile(rb"(?:^|[\x00\t\n\x0c\r \]>)}])BI[\x00\t\n\x0c\r /]")
# Inline images may abbreviate their keys and filter names; pypdf's filters want the full ones.
_INLINE_KEYS = {"/F": "/Filter", "/DP": "/DecodeParms"}
_INLINE_FILTERS = {"/AHx": "/ASCIIHexDecode", "/A85": "/ASCII85Decode", "/LZW": "/LZWDecode",
                   "/Fl": "/FlateDecode", "/RL": "/RunLengthDecode", "/CCF": "/CCITTFaxDecode", "/DCT": "/DCTDecode"}


def strip_inline_images(stream: StreamObject) -> None:
    """Clean the JPEG and JPEG 2000 inline images of a content stream, rewriting it only if one changed."""
    if not _BEGIN_IMAGE.search(stream.get_data()):
        return
    try:
        parsed = ContentStream(stream, None)
        operations = parsed.operations
    except Exception as error:  # pypdf raises many types; the images in it cannot be reached
        raise UncleanableImage("a content stream with an inline image that cannot be parsed") from error
    changed = [strip_inline_image(operands) for operands, operator in operations if operator == b"INLINE IMAGE"]
    if not any(changed):
        return
    StreamObject.set_data(stream, zlib.compress(parsed.get_data()))  # pypdf writes the operations back
    stream.decoded_self = None
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    stream.pop("/DecodeParms", None)


def strip_inline_image(image: dict[str, Any]) -> bool:
    """Clean one inline image (pypdf's ``{"settings": …, "data": …}``) in place; tell whether it changed."""
    settings: DictionaryObject = image["settings"]
    filters = settings.get("/Filter", settings.get("/F"))
    names = list(filters) if isinstance(filters, ArrayObject) else [filters]
    if not any(_INLINE_FILTERS.get(name, name) in _IMAGE_FILTERS for name in names):
        return False
    # As a stream of its own, the image goes through strip_image like any other.
    alone = EncodedStreamObject()
    for key, value in settings.items():
        alone[NameObject(_INLINE_KEYS.get(key, key))] = value
    alone[NameObject("/Filter")] = ArrayObject(NameObject(_INLINE_FILTERS.get(name, name)) for name in names)
    StreamObject.set_data(alone, image["data"])
    strip_image(alone)
    if alone._data == image["data"] and len(names) == 1:  # _data: the bytes as stored, the image file itself
        return False
    for key in ("/F", "/Filter", "/DP", "/DecodeParms"):
        settings.pop(key, None)
    settings[NameObject("/F")] = NameObject("/DCT" if alone["/Filter"] == "/DCTDecode" else alone["/Filter"])
    if "/DecodeParms" in alone:
        settings[NameObject("/DP")] = alone["/DecodeParms"]
    image["data"] = alone._data
    return True


# Segments of a JPEG file kept by the prefix of their data: JFIF (APP0) and Adobe (APP14) say how to
# turn the samples into colours, an ICC profile (APP2) which colours they are. Every other
# application segment goes (APP1 EXIF and XMP, APP13 IPTC/Photoshop, APP2 MPF, JFXX thumbnails…),
# and so do comments (COM) and the reserved and extension markers no decoder reads (a damaged APP1
# marker, 0xFF02, would otherwise carry the EXIF block through).
_KEPT_APPLICATION_SEGMENTS = {0xE0: b"JFIF\x00", 0xE2: b"ICC_PROFILE\x00", 0xEE: b"Adobe"}
# Frames, Huffman and arithmetic tables, scans, quantisation tables, restart intervals and the rest of 0xC0-0xDF.
_DRAWING = frozenset(range(0xC0, 0xE0)) - {0xC8}  # 0xC8 is reserved for extensions
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
    if marker in _DRAWING and not _well_formed(marker, payload):
        # A damaged marker byte can put a camera's segment (EXIF, XMP) under a drawing marker.
        raise BadJpeg("a segment whose contents do not fit its marker")
    return marker in _DRAWING


def _well_formed(marker: int, payload: bytes) -> bool:
    """Tell whether a drawing segment's length fits what its own fields say it holds."""
    size = len(payload)
    if marker == 0xDA:  # start of scan: Ns components of 2 bytes, then 3 bytes
        return size >= 1 and size == 4 + 2 * payload[0]
    if marker == 0xC4 or marker == 0xDB:  # Huffman or quantisation tables, one after another
        position = 0
        while position < size:
            if marker == 0xC4:
                position += 17 + sum(payload[position + 1:position + 17])
            else:
                position += 1 + 64 * (1 + (payload[position] >> 4))
        return position == size
    if marker in (0xDD, 0xDC):  # restart interval, number of lines
        return size == 2
    if marker == 0xDF:  # expand reference components
        return size == 1
    if marker == 0xCC:  # arithmetic conditioning: at most 8 pairs, each naming a table class 0-1 and number 0-3
        return size % 2 == 0 and size <= 16 and all(byte >> 4 <= 1 and byte & 15 <= 3 for byte in payload[::2])
    return size >= 6 and size == 6 + 3 * payload[5]  # a frame header (SOFn, DHP): Nf components of 3 bytes


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


# --- JPEG 2000 ---------------------------------------------------------------------------------

_JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
_CODESTREAM_START = b"\xff\x4f\xff\x51"  # SOC, then SIZ
# Top-level boxes kept as they are: the file type and the reader requirements (feature flags).
_KEPT_BOXES = frozenset({b"ftyp", b"rreq"})
# Boxes of the JP2 header that say how to turn samples into colours: image header, bit depths,
# colour specification (perhaps an ICC profile, as JPEG keeps its own), palette, mapping, channels.
_KEPT_HEADER_BOXES = frozenset({b"ihdr", b"bpcc", b"colr", b"pclr", b"cmap", b"cdef"})
# JPX boxes that hold pixels or their headers outside the one codestream this module rewrites:
# fragment tables (the codestream in pieces, perhaps in other files), codestream and layer
# headers, compositions. Dropping them could change the picture, keeping them could keep metadata.
_ELSEWHERE_BOXES = frozenset({b"ftbl", b"dtbl", b"jpch", b"jplh", b"cgrp", b"comp", b"drep"})


def strip_jpeg2000(data: bytes) -> bytes:
    """Return the JPEG 2000 ``data`` (a JP2/JPX file or a bare codestream) without its metadata, or raise
    :class:`BadJpeg2000`.

    Every other box goes: readers of JP2 skip the boxes they do not know, so none of them draws the
    image (``xml `` and ``uuid`` with XMP, EXIF or IPTC, ``uinf`` with URLs, ``jp2i``, ``res ``,
    association, label and free-space boxes, and any a writer invents).
    """
    if data.startswith(_CODESTREAM_START):
        return strip_codestream(data)
    if not data.startswith(_JP2_SIGNATURE):
        raise BadJpeg2000("neither a JP2 file nor a codestream")
    out = [_JP2_SIGNATURE]
    codestreams = 0
    for kind, payload in _boxes(data, len(_JP2_SIGNATURE)):
        if kind in _KEPT_BOXES:
            out.append(_box(kind, payload))
        elif kind == b"jp2h":
            out.append(_box(kind, b"".join(_box(sub, part) for sub, part in _boxes(payload, 0)
                                            if sub in _KEPT_HEADER_BOXES)))
        elif kind == b"jp2c":
            codestreams += 1
            out.append(_box(kind, strip_codestream(payload)))
        elif kind in _ELSEWHERE_BOXES:
            raise BadJpeg2000("pixels or their headers outside the codestream")
    if codestreams != 1:
        raise BadJpeg2000("not exactly one codestream")
    return b"".join(out)


def _boxes(data: bytes, position: int) -> Iterator[tuple[bytes, bytes]]:
    """Yield (type, contents) of the boxes from ``position`` to the end of ``data``."""
    size = len(data)
    while position < size:
        if position + 8 > size:
            raise BadJpeg2000("a box header runs past the end")
        length, kind, header = int.from_bytes(data[position:position + 4], "big"), data[position + 4:position + 8], 8
        if length == 1:  # the length follows as 64 bits
            length, header = int.from_bytes(data[position + 8:position + 16], "big"), 16
        elif length == 0:  # the last box runs to the end
            length = size - position
        if length < header or position + length > size:
            raise BadJpeg2000("a box runs past the end")
        yield kind, data[position + header:position + length]
        position += length


def _box(kind: bytes, payload: bytes) -> bytes:
    """Return a box of ``kind`` around ``payload``."""
    if len(payload) + 8 < 1 << 32:
        return (len(payload) + 8).to_bytes(4, "big") + kind + payload
    return b"\x00\x00\x00\x01" + kind + (len(payload) + 16).to_bytes(8, "big") + payload


_COM, _SOT, _SOD, _EOC, _TLM = 0x64, 0x90, 0x93, 0xD9, 0x55


def strip_codestream(data: bytes) -> bytes:
    """Return a JPEG 2000 codestream without its comments (COM segments: the encoder, or any text).

    Comments sit in the main header and in the headers of tile-parts. A tile-part states its
    length (``Psot``), which shrinks with the comments taken out of it; the tile-part lengths an
    optional TLM segment lists for quick access would then be wrong, so it goes too. The
    compressed data is copied as it is.
    """
    if not data.startswith(_CODESTREAM_START):
        raise BadJpeg2000("no start of codestream")
    main, position = _header_segments(data, 2)
    tiles: list[bytes] = []
    shortened = False
    size = len(data)
    while position < size and data[position:position + 2] == b"\xff\x90":
        start = position
        length = int.from_bytes(data[start + 6:start + 10], "big")  # Psot: SOT marker to the end of the data
        end = start + length if length else (size - 2 if data.endswith(b"\xff\xd9") else size)
        if start + 12 > size or end > size or end < start + 14:
            raise BadJpeg2000("a tile-part runs past the end")
        segments, body = _header_segments(data, start, stop=_SOD)
        header = b"".join(segments)
        if length:
            header = header[:6] + (len(header) + end - body).to_bytes(4, "big") + header[10:]
        shortened |= len(header) != body - start
        tiles.append(header + data[body:end])
        position = end
    if position < size and data[position:] != b"\xff\xd9":
        raise BadJpeg2000("something other than a tile-part after the main header")
    if shortened:
        main = [segment for segment in main if segment[1] != _TLM]
    return b"\xff\x4f" + b"".join(main) + b"".join(tiles) + data[position:]


def _header_segments(data: bytes, position: int, *, stop: int = _SOT) -> tuple[list[bytes], int]:
    """Return the marker segments (comments left out) from ``position`` up to the marker ``stop``, and
    where the data after the header starts: at ``stop`` for the main header, after SOD for a tile-part."""
    segments: list[bytes] = []
    size = len(data)
    while True:
        if position + 2 > size or data[position] != 0xFF:
            raise BadJpeg2000("a header segment does not start with a marker")
        marker = data[position + 1]
        if marker == stop and stop == _SOT:
            return segments, position
        if marker == _SOD and stop == _SOD:
            return segments + [b"\xff\x93"], position + 2
        if marker in (_EOC, 0x4F, _SOD):
            raise BadJpeg2000("a header ends too early")
        length = int.from_bytes(data[position + 2:position + 4], "big")
        if length < 2 or position + 2 + length > size:
            raise BadJpeg2000("a header segment runs past the end")
        if marker != _COM:
            segments.append(data[position:position + 2 + length])
        position += 2 + length


# The filters whose data is an image file with metadata in it, and how to take it out.
_IMAGE_FILTERS: dict[Any, Callable[[bytes], bytes]] = {
    "/DCTDecode": strip_jpeg, "/DCT": strip_jpeg, "/JPXDecode": strip_jpeg2000}


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
    except UncleanableImage:
        return IMAGE
    except Exception:  # pypdf raises many types on malformed input: "unreadable"
        return UNREADABLE
    sys.stdout.buffer.write(result)
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), int(sys.argv[2])))
