"""Attachments of notes: photos and PDFs, checked by their content and stored by their SHA-256.

What comes in is never trusted by its name or its declared content type:

- the type is decided by the file's first bytes (PNG, JPEG, GIF, WebP or PDF); anything else is refused;
- images are decoded by Pillow and re-encoded from their pixels alone, so EXIF (GPS position,
  camera serial), XMP, ICC profiles, comments and text chunks never leave the hub; the EXIF
  orientation is applied first so photos stay upright; pixels are converted to sRGB when a colour
  profile is dropped; animated GIF and WebP keep their first frame only; images above
  :data:`MAX_PIXELS` are refused before they are decoded (decompression bombs);
- PDFs are refused when they hold active or hidden content: the names ``/JavaScript``, ``/JS``,
  ``/Launch``, ``/EmbeddedFile(s)`` or ``/RichMedia`` (also when spelled with ``#xx`` escapes or
  packed inside compressed object streams), or object streams this module cannot unpack to check
  (other filters, predictors, passwords). What passes is rewritten by pypdf from its catalogue
  down, in a process of its own limited in CPU time and memory (:mod:`hub.services.pdf_rewrite`),
  without its document metadata: the trailer's ``/Info`` dictionary (author, company, title,
  creating application, dates), every XMP ``/Metadata`` stream (the catalogue's, a page's or any
  other object's), the creating application's private ``/PieceInfo`` data and ``/LastModified``
  times, the file identifier ``/ID``, objects nothing refers to, and the metadata of the photos
  inside, JPEG and JPEG 2000, placed as images or inline in content streams (EXIF, XMP, IPTC,
  comments, JPEG 2000's metadata boxes). Pages, fonts, images, links and bookmarks stay. A PDF
  that needs an owner password only to be changed is stored decrypted; one that needs a password
  to be opened, that pypdf cannot read or write, that needs more than those limits, or with a
  photo whose metadata cannot be removed safely, is refused, never stored as it came. The rewritten file is checked for
  active content again: pypdf writes every object it keeps in plain view, so nothing the first
  scan could not attribute stays hidden;
- file names are reduced to a safe base name whose extension matches the detected type.

Bytes live under ``instance/attachments/<sha256[:2]>/<sha256>`` (:mod:`hub.services.attachment_files`,
whose :func:`path_of` and :func:`open_bytes` this module passes on), written atomically, shared by
every attachment with the same content. Removing the last attachment that uses a file deletes the
file. Two uploads racing a removal of the same content could lose a file; the page then answers 404
and the author attaches it again.
"""
from __future__ import annotations

import hashlib
import io
import re
import signal
import subprocess
import sys
import unicodedata
import warnings
import zlib
from dataclasses import dataclass
from typing import IO, Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageCms, ImageOps

from hub import events
from hub.extensions import db
from hub.models import Attachment, Note, NoteState, User
from hub.permissions import can
from hub.services import audit, notes, pdf_rewrite, screening
# path_of and open_bytes belong to this module's face too: views and tests read attachments through it.
from hub.services.attachment_files import discard_unused, open_bytes, path_of, store  # noqa: F401
from hub.services.errors import NotAllowed, ServiceError

MAX_PER_NOTE = 10
MAX_PIXELS = 40_000_000  # a 40-megapixel photo decodes to about 160 MB: enough for any phone camera
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
MAX_NAME_LENGTH = 120


@dataclass(frozen=True)
class FileKind:
    """A type of file the hub accepts: how it is served and named, and how Pillow knows it."""

    content_type: str
    extension: str
    pillow_format: str | None = None  # None: not an image
    aliases: tuple[str, ...] = ()

    @property
    def is_image(self) -> bool:
        """Tell whether the file is an image (re-encoded and shown inline)."""
        return self.pillow_format is not None


PNG = FileKind("image/png", ".png", "PNG")
JPEG = FileKind("image/jpeg", ".jpg", "JPEG", (".jpeg",))
GIF = FileKind("image/gif", ".gif", "GIF")
WEBP = FileKind("image/webp", ".webp", "WEBP")
PDF = FileKind("application/pdf", ".pdf")

# Encoder settings: JPEG and WebP are lossy, so keep quality high; the others are lossless.
_SAVE_OPTIONS: dict[str, dict[str, Any]] = {"JPEG": {"quality": 90}, "WEBP": {"quality": 90}, "PNG": {}, "GIF": {}}


def _refuse(message: Any) -> ServiceError:
    return ServiceError(message, field="file")


# --- the operations ------------------------------------------------------------------------

def add(note: Note, *, by: User, filename: str, stream: IO[bytes]) -> Attachment:
    """Check, clean and store an uploaded file, and attach it to ``note``."""
    _require_edit(by, note)
    if len(note.attachments) >= MAX_PER_NOTE:
        # i18n: %(n)d is a number (the most attachments a note may have)
        raise _refuse(_l("A note can have at most %(n)d attachments. Remove one first.", n=MAX_PER_NOTE))
    raw = _read_capped(stream)
    kind = sniff(raw)
    data = clean_image(raw, kind) if kind.is_image else clean_pdf(raw)
    name = clean_filename(filename, kind)
    _check_name_privacy(note, name)
    digest = hashlib.sha256(data).hexdigest()
    store(data, digest)  # before the row: should the commit fail, discard_unused() sweeps the file
    attachment = Attachment(note=note, filename=name, content_type=kind.content_type, size=len(data),
                            sha256=digest, pending=_needs_review(note, by))
    db.session.add(attachment)
    db.session.flush()
    if attachment.pending:
        notes.hold_for_review(note, by=by)
    # The file name stays out of the audit trail: it may hold personal data until the author renames it.
    audit.record("attachment.add", actor=by, target=note, attachment=attachment.id,
                 content_type=kind.content_type, size=len(data))
    if not attachment.pending:
        _note_changed(note)
    db.session.commit()
    return attachment


def remove(attachment: Attachment, *, by: User) -> None:
    """Detach ``attachment`` from its note, deleting its file when nothing else uses it."""
    note = attachment.note
    _require_edit(by, note)
    digest, attachment_id, was_shown = attachment.sha256, attachment.id, not attachment.pending
    note.attachments.remove(attachment)  # delete-orphan: the row goes with it
    audit.record("attachment.remove", actor=by, target=note, attachment=attachment_id)
    if was_shown:
        _note_changed(note)
    db.session.commit()
    discard_unused([digest])


def _require_edit(by: User, note: Note) -> None:
    if not notes.may(by, "edit", note):
        raise NotAllowed(_l("Only the author can change the attachments of this note now."))


def _read_capped(stream: IO[bytes]) -> bytes:
    """Read the upload, refusing it once it passes the configured size."""
    limit = int(current_app.config.get("ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES))
    data = stream.read(limit + 1)
    if len(data) > limit:
        # i18n: %(mb)s is a number of megabytes, e.g. 5
        raise _refuse(_l("The file is larger than %(mb)s MB. Make it smaller and try again.",
                         mb=f"{limit / 1024 / 1024:g}"))
    if not data:
        raise _refuse(_l("The file is empty. Choose another file."))
    return data


def _check_name_privacy(note: Note, name: str) -> None:
    """Refuse a file name with personal data on a published note, where no later check would see it."""
    if note.state != NoteState.PUBLISHED:
        return  # drafts: the privacy check before submitting lists attachment names too
    if screening.screen({"attachment:new": name}):
        raise _refuse(_l("The file name looks like it holds personal data. Rename the file and attach it again."))


def _needs_review(note: Note, by: User) -> bool:
    """A file added to a published note waits for a moderator, unless an admin lets the author skip review."""
    return note.state == NoteState.PUBLISHED and not by.edits_skip_review


def shown(note: Note, viewer: Any) -> list[Attachment]:
    """Return the attachments ``viewer`` sees: readers not those waiting for review."""
    if notes.may(viewer, "edit", note) or can(viewer, "moderate"):
        return list(note.attachments)
    return [a for a in note.attachments if not a.pending]


def _note_changed(note: Note) -> None:
    """Tell readers' copies (search, partner hubs) that a published note changed."""
    if note.state == NoteState.PUBLISHED:
        events.record("note.updated", subject_type="note", subject_id=note.id)


# --- what the file is ----------------------------------------------------------------------

def sniff(data: bytes) -> FileKind:
    """Return the kind of ``data`` from its first bytes, refusing anything the hub does not accept."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    if data.startswith(b"%PDF-"):
        if b"%%EOF" not in data[-1024:]:
            raise _refuse(_l("This PDF is incomplete or damaged. Save it again and attach the new file."))
        return PDF
    raise _refuse(_l("Attach a photo (PNG, JPEG, GIF or WebP) or a PDF. This file is none of these."))


def clean_filename(filename: str, kind: FileKind) -> str:
    """Return a safe base name for ``filename`` whose extension matches ``kind``."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", filename or ""))[-1]
    base = re.sub(r"\s+", " ", re.sub(r'[<>:"|?*]', "_", base))
    # Control and format characters go, right-to-left overrides too: they disguise extensions.
    base = "".join(ch for ch in base if not unicodedata.category(ch).startswith("C")).rstrip(" .")
    stem, dot, extension = base.rpartition(".")
    if not dot:
        stem, extension = base, ""
    elif not re.fullmatch(r"(?=.*[a-zA-Z])[a-zA-Z0-9]{1,5}", extension):
        stem, extension = base, ""  # "report.2024" has no extension to replace
    suffix = f".{extension.lower()}"
    suffix = suffix if suffix in (kind.extension, *kind.aliases) else kind.extension
    stem = stem.strip(" .")[: MAX_NAME_LENGTH - len(suffix)].rstrip(" .")
    return (stem or "attachment") + suffix


# --- images --------------------------------------------------------------------------------

def clean_image(data: bytes, kind: FileKind) -> bytes:
    """Re-encode an image from its pixels alone, upright and in sRGB, in its own format."""
    assert kind.pillow_format is not None
    try:
        image = _decode(data, kind.pillow_format)
        return _encode(_without_metadata(ImageOps.exif_transpose(image)), kind.pillow_format)
    except ServiceError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise _too_many_pixels() from error
    except Exception as error:  # Pillow raises many types on malformed input; all mean "not a usable image"
        # i18n: %(format)s is an image format's name: PNG, JPEG, GIF or WebP
        raise _refuse(_l("This image is damaged or not really a %(format)s file. Save it again and retry.",
                         format=kind.pillow_format)) from error


def _too_many_pixels() -> ServiceError:
    # i18n: %(n)d is a number of megapixels
    return _refuse(_l("This image has too many pixels (at most %(n)d megapixels). Make it smaller and try again.",
                      n=MAX_PIXELS // 1_000_000))


def _decode(data: bytes, pillow_format: str) -> Image.Image:
    """Decode the first frame, after a structural check and a pixel count taken from the header."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        probe = Image.open(io.BytesIO(data), formats=[pillow_format])  # reads the header only
        if probe.width * probe.height > MAX_PIXELS:
            raise _too_many_pixels()
        probe.verify()
        image = Image.open(io.BytesIO(data), formats=[pillow_format])  # verify() leaves an image unusable
        image.load()
    return image


def _without_metadata(image: Image.Image) -> Image.Image:
    """Return the pixels of ``image`` with no metadata, only the transparency needed to draw them."""
    profile = image.info.get("icc_profile")
    bare = _to_srgb(image, profile) if profile else image.copy()
    # Savers fall back to image.info for comments and ICC profiles, so nothing else may stay in it.
    bare.info = {key: image.info[key] for key in ("transparency",) if key in image.info}
    return bare


def _to_srgb(image: Image.Image, profile: bytes) -> Image.Image:
    """Convert pixels to sRGB so that dropping their colour profile keeps their colours."""
    if image.mode not in ("RGB", "RGBA"):
        return image.copy()
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        converted = ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"),
                                              outputMode=image.mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image.copy()  # a broken profile: keep the pixels as they are
    return converted if converted is not None else image.copy()


def _encode(image: Image.Image, pillow_format: str) -> bytes:
    out = io.BytesIO()
    image.save(out, pillow_format, **_SAVE_OPTIONS[pillow_format])
    return out.getvalue()


# --- PDFs ----------------------------------------------------------------------------------

FORBIDDEN_PDF_NAMES = frozenset({b"JavaScript", b"JS", b"Launch", b"EmbeddedFile", b"EmbeddedFiles", b"RichMedia"})
_PDF_NAME = re.compile(rb"/([^\x00\t\n\x0c\r /<>\[\]()%{}]*)")  # a name ends at whitespace or a delimiter
_PDF_STREAM = re.compile(rb"(?<![A-Za-z])stream(?:\r\n|\n|\r)")
_PDF_ENDSTREAM = re.compile(rb"endstream")


def check_pdf(data: bytes) -> bytes:
    """Return ``data`` if the PDF holds no scripts, launch actions, embedded files or rich media."""
    skeleton, object_streams = _pdf_parts(data)
    names = _pdf_names(skeleton)
    # Long names cannot turn up by chance in binary stream data, so look for them everywhere.
    names |= _pdf_names(data) & (FORBIDDEN_PDF_NAMES - {b"JS"})
    for body in object_streams:
        names |= _pdf_names(body)
    if names & FORBIDDEN_PDF_NAMES:
        raise _refuse(_l("This PDF contains scripts, actions or embedded files, which the hub does not accept. "
                         "Print it to a new PDF and attach that."))
    return data


def _pdf_names(chunk: bytes) -> set[bytes]:
    """Return the PDF names in ``chunk``, with ``#xx`` escapes decoded (/J#53 is /JS)."""
    return {re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m[1], 16)]), name)
            for name in _PDF_NAME.findall(chunk)}


def _pdf_parts(data: bytes) -> tuple[bytes, list[bytes]]:
    """Split a PDF into its text outside stream data, and the unpacked bodies of its object streams."""
    skeleton: list[bytes] = []
    object_streams: list[bytes] = []
    budget = 8 * len(data) + 1024 * 1024  # what inflating all object streams together may produce
    position = 0
    for match in _PDF_STREAM.finditer(data):
        if match.start() < position:
            continue  # the word "stream" inside data already skipped
        end = _PDF_ENDSTREAM.search(data, match.end())
        if end is None:
            raise _unreadable_pdf()  # whatever follows could hide objects from the checks
        head = data[position:match.start()]
        skeleton.append(head)
        names = _pdf_names(_last_dictionary(head))
        if b"ObjStm" in names:
            object_streams.append(_object_stream(data, match.end(), end.start(), names, budget))
            budget -= len(object_streams[-1])
        position = end.start()
    skeleton.append(data[position:])
    return b"".join(skeleton), object_streams


def _last_dictionary(head: bytes) -> bytes:
    """Return what follows the last "obj" keyword in ``head``: the dictionary of the stream after it."""
    index = head.rfind(b"obj")
    while index >= 3 and head[index - 3:index] == b"end":  # "endobj" closes an object, it opens none
        index = head.rfind(b"obj", 0, index - 3)
    return head[index + 3:] if index >= 0 else head


def _object_stream(data: bytes, start: int, stop: int, names: set[bytes], budget: int) -> bytes:
    """Return an object stream's objects as text, refusing what cannot be unpacked to be checked."""
    filters = {name for name in names if name.endswith(b"Decode") or name in (b"Fl", b"Crypt")}
    if not filters:
        return data[start:stop]
    if filters != {b"FlateDecode"} or b"DecodeParms" in names:
        raise _unreadable_pdf()
    inflater = zlib.decompressobj()
    try:
        # zlib finds the stream's own end, whatever /Length or "endstream" claim.
        body = inflater.decompress(memoryview(data)[start:], max(budget, 1))  # 0 would mean no limit
    except zlib.error as error:
        raise _unreadable_pdf() from error
    if not inflater.eof:
        raise _unreadable_pdf()  # damaged, or inflating past the budget (a compression bomb)
    return body


def _unreadable_pdf() -> ServiceError:
    return _refuse(_l("This PDF could not be checked for scripts (it may be protected by a password). "
                      "Print it to a new PDF and attach that."))


# --- PDF metadata ----------------------------------------------------------------------------

# A 5 MB office export takes well under a second; 5 MB of 31,500 small objects about 7 s of CPU and 300 MB.
DEFAULT_PDF_SECONDS = 15  # of CPU time (ATTACHMENT_PDF_SECONDS); five more of waiting
PDF_MEMORY = 512 * 1024 * 1024  # address space, the interpreter's own (about 60 MB) included
_REWRITE_PROGRAM = pdf_rewrite.__file__


def clean_pdf(data: bytes) -> bytes:
    """Return the PDF rewritten without its document metadata, once it is known to hold no active content."""
    check_pdf(data)  # before pypdf parses anything, and with the refusals authors already know
    return check_pdf(_rewrite_pdf(data))


def _rewrite_pdf(data: bytes) -> bytes:
    """Have :mod:`hub.services.pdf_rewrite` rewrite ``data`` in its own limited process; refuse what it cannot."""
    seconds = int(current_app.config.get("ATTACHMENT_PDF_SECONDS", DEFAULT_PDF_SECONDS))
    try:
        # -I: none of the environment's Python settings, nor the program's folder on the import path.
        done = subprocess.run([sys.executable, "-I", _REWRITE_PROGRAM, str(seconds), str(PDF_MEMORY)],
                              input=data, capture_output=True, timeout=seconds + 5, check=False)
    except subprocess.TimeoutExpired as error:  # waiting, not computing: the CPU limit did not apply
        raise _too_complex_pdf() from error
    if done.returncode == 0:
        return done.stdout
    if done.returncode == pdf_rewrite.PASSWORD:
        raise _refuse(_l("This PDF is protected by a password. Open it, print it to a new PDF without a "
                         "password and attach that."))
    if done.returncode in (-signal.SIGXCPU, pdf_rewrite.TOO_LARGE):
        raise _too_complex_pdf()
    if done.returncode == pdf_rewrite.IMAGE:
        raise _refuse(_l("This PDF contains a picture whose hidden details (such as where a photo was taken) the "
                         "hub cannot remove safely. Print it to a new PDF and attach that, or attach the pictures "
                         "as photos."))
    # pypdf's complaint (on standard error) stays out of the log: it may quote the file.
    raise _refuse(_l("The hub could not read this PDF to remove its author's name and other hidden details "
                     "(it may be damaged). Print it to a new PDF and attach that."))


def _too_complex_pdf() -> ServiceError:
    return _refuse(_l("This PDF is too complex for the hub to remove its author's name and other hidden details "
                      "in time. Print it to a new PDF, or split it, and attach that."))
