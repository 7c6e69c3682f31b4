"""Attachments: types decided by content, photo metadata removed, PDFs with active content refused."""
from __future__ import annotations

import hashlib
import io
import logging
import os
import struct
import time
import zlib

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from PIL import Image, ImageCms, PngImagePlugin
from pypdf import PdfReader, PdfWriter

from hub.models.audit import AuditEntry
from hub.models.note import Attachment
from hub.models.events import Event
from hub.services import attachments, notes
from hub.services.errors import NotAllowed, ServiceError
from tests.helpers import count
from tests.pdfs import (PAGE_TEXT, many_pages, missing_objects, object_stream, pdf_bytes, pdf_stream,
                        word_export, write_pdf)

GPS_IFD = 0x8825
ORIENTATION = 0x0112


# --- files to upload -------------------------------------------------------------------------

def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (40, 20), mode: str = "RGB", **save) -> bytes:
    """Encode a small red image in ``fmt``."""
    out = io.BytesIO()
    Image.new(mode, size, "red").save(out, fmt, **save)
    return out.getvalue()


def gps_exif(orientation: int = 1) -> Image.Exif:
    """Return EXIF with a camera maker, an orientation and a GPS position in Chengdu."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[ORIENTATION] = orientation
    gps = exif.get_ifd(GPS_IFD)
    gps.update({1: "N", 2: (30.0, 39.0, 12.5), 3: "E", 4: (104.0, 4.0, 1.0)})
    return exif


def jpeg_with_gps(orientation: int = 1) -> bytes:
    """Return a JPEG as a phone writes it: EXIF with GPS, an XMP packet, a comment, an ICC profile."""
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return image_bytes("JPEG", exif=gps_exif(orientation), xmp=b"<x:xmpmeta>GPSLatitude 30.65</x:xmpmeta>",
                       comment=b"taken at the clinic", icc_profile=icc)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    """Return one PNG chunk with its CRC."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_only(width: int, height: int) -> bytes:
    """Return a PNG that claims ``width`` x ``height`` pixels and holds almost nothing (a bomb's shape)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + png_chunk(b"IEND", b""))


# --- fixtures ---------------------------------------------------------------------------------

@pytest.fixture
def draft(contributor):
    """A draft of the contributor."""
    return notes.create_draft(author=contributor, data=notes.NoteInput(title="t", summary="s", body="b"))


@pytest.fixture
def attach(draft, contributor):
    """Return a function that attaches bytes to the draft as its author."""
    def upload(data: bytes, filename: str = "file.png", note=None, by=None):
        return attachments.add(note or draft, by=by or contributor, filename=filename, stream=io.BytesIO(data))
    return upload


def refusal(attach, data: bytes, filename: str = "file.png") -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        attach(data, filename)
    return caught.value


# --- images -----------------------------------------------------------------------------------

def test_gps_and_all_other_photo_metadata_are_removed_from_jpegs(attach):
    raw = jpeg_with_gps()
    assert b"Exif" in raw and b"xmpmeta" in raw and b"clinic" in raw
    item = attach(raw, "photo.jpg")
    stored = attachments.open_bytes(item)
    image = Image.open(io.BytesIO(stored))
    assert image.format == "JPEG" and item.content_type == "image/jpeg"
    assert len(image.getexif()) == 0 and not image.getexif().get_ifd(GPS_IFD)
    assert not {"exif", "xmp", "comment", "icc_profile"} & set(image.info)
    for marker in (b"Exif", b"xmpmeta", b"GPS", b"PhoneMaker", b"clinic", b"ICC_PROFILE"):
        assert marker not in stored, marker


def test_exif_orientation_is_applied_before_it_is_dropped(attach):
    item = attach(jpeg_with_gps(orientation=6), "sideways.jpg")  # 6: rotate 90° to show upright
    assert Image.open(attachments.path_of(item)).size == (20, 40)


def test_png_text_chunks_and_colour_profile_are_removed(attach):
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "<script>alert(1)</script>")
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>GPSLatitude</x:xmpmeta>")
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    item = attach(image_bytes("PNG", pnginfo=info, icc_profile=icc, exif=gps_exif()), "scan.png")
    stored = attachments.open_bytes(item)
    assert Image.open(io.BytesIO(stored)).info == {}
    for chunk in (b"tEXt", b"iTXt", b"zTXt", b"iCCP", b"eXIf", b"script", b"xmpmeta"):
        assert chunk not in stored, chunk


@pytest.mark.parametrize("fmt, content_type", [("GIF", "image/gif"), ("WEBP", "image/webp")])
def test_gif_and_webp_keep_their_format(attach, fmt, content_type):
    item = attach(image_bytes(fmt, exif=gps_exif()) if fmt == "WEBP" else image_bytes(fmt), "x")
    assert item.content_type == content_type
    assert Image.open(attachments.path_of(item)).format == fmt
    assert b"EXIF" not in attachments.open_bytes(item)


def test_html_named_like_a_photo_is_refused(attach):
    error = refusal(attach, b"<!doctype html><script>alert(document.cookie)</script>", "photo.png")
    assert error.field == "file" and "PNG, JPEG" in str(error.message)


@pytest.mark.parametrize("data", [
    os.urandom(2048),
    b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>",
    b"GIF89a/*<script>alert(1)</script>*/",
    b"\xff\xd8\xff\xe0<svg onload=alert(1)>",
    b"RIFF\x10\x00\x00\x00WEBPVP8 garbage",
    b"%PDF-1.4\n<html><script>alert(1)</script></html>",
    b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
    b"PK\x03\x04 a zip file",
], ids=["random", "png-html", "gif-js", "jpeg-svg", "webp-garbage", "pdf-without-eof", "svg", "zip"])
def test_garbage_and_polyglots_are_refused(attach, data):
    assert refusal(attach, data).field == "file"


def test_html_hidden_after_a_real_image_does_not_survive(attach):
    item = attach(image_bytes("PNG") + b"<html><script>alert(1)</script></html>", "x.png")
    assert b"<script" not in attachments.open_bytes(item)


def test_file_over_the_size_limit_is_refused(app, attach):
    app.config["ATTACHMENT_MAX_BYTES"] = 1000
    error = refusal(attach, image_bytes("PNG", size=(400, 400), mode="RGB", compress_level=0))
    assert error.field == "file" and "MB" in str(error.message)


def test_empty_file_is_refused(attach):
    assert refusal(attach, b"").field == "file"


def test_image_with_too_many_pixels_is_refused_before_decoding(attach):
    error = refusal(attach, png_header_only(8000, 6000))  # 48 megapixels, a few bytes
    assert "megapixels" in str(error.message)


def test_pillows_own_bomb_guard_is_answered_as_too_many_pixels(attach):
    error = refusal(attach, png_header_only(20000, 20000))  # past Pillow's DecompressionBombError
    assert "megapixels" in str(error.message)


# --- PDFs -------------------------------------------------------------------------------------

def test_pdf_is_stored_as_rewritten_and_named_by_the_rewritten_bytes(attach):
    data = pdf_bytes()
    item = attach(data, "会议纪要.pdf")
    stored = attachments.open_bytes(item)
    assert stored != data and len(PdfReader(io.BytesIO(stored)).pages) == 1
    assert (item.content_type, item.filename, item.size) == ("application/pdf", "会议纪要.pdf", len(stored))
    assert item.sha256 == hashlib.sha256(stored).hexdigest()


def test_pdf_with_a_name_like_js_inside_page_data_is_accepted(attach):
    # Stream data is not parsed as objects: a font named /JS in a page's drawing is harmless.
    assert attach(pdf_bytes(content=b"BT /JS 12 Tf (x) Tj ET"), "x.pdf").size > 0


@pytest.mark.parametrize("extra_objects, catalog_extra", [
    ((), b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>"),
    ((b"<< /JS (app.alert(1)) >>",), b""),
    ((), b"/OpenAction << /S /J#61vaScript /J#53 (app.alert(1)) >>"),
    ((), b"/OpenAction << /S /Launch /F (calc.exe) >>"),
    ((pdf_stream(b"MZ payload", b"/Type /EmbeddedFile"),), b""),
    ((), b"/Names << /EmbeddedFiles 5 0 R >>"),
    ((object_stream(b"<< /S /JavaScript /JS (app.alert(1)) >>"),), b"/OpenAction 9 0 R"),
    ((object_stream(b"", extra=b"", packed=b"9 0 << /JS (app.alert(1)) >>"),), b""),
], ids=["javascript", "js-alone", "hex-escaped", "launch", "embedded-file", "embedded-files", "in-object-stream",
        "in-plain-object-stream"])
def test_pdf_with_active_content_is_refused(attach, extra_objects, catalog_extra):
    error = refusal(attach, pdf_bytes(*extra_objects, catalog_extra=catalog_extra), "x.pdf")
    assert error.field == "file" and "scripts" in str(error.message)


@pytest.mark.parametrize("stream", [
    object_stream(b"<< >>", extra=b"/Filter /LZWDecode"),
    object_stream(b"<< >>", extra=b"/Filter /FlateDecode /DecodeParms << /Predictor 12 >>"),
    object_stream(b"", packed=b"not zlib at all"),
    object_stream(b"", packed=zlib.compress(b"\0" * (20 * 1024 * 1024), 9)),
], ids=["other-filter", "predictor", "damaged", "compression-bomb"])
def test_pdf_whose_object_streams_cannot_be_checked_is_refused(attach, stream):
    assert "could not be checked" in str(refusal(attach, pdf_bytes(stream), "x.pdf").message)


def test_script_the_first_scan_cannot_place_is_refused_once_rewritten(attach):
    # "(an obj)" in the object stream's dictionary misleads the byte scan about where that dictionary starts,
    # so it does not unpack the stream; pypdf reads it, and the rewritten file shows the script in plain view.
    objects = [b"<< /Type /Catalog /Pages 2 0 R /OpenAction 5 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>", pdf_stream(b"BT ET"),
               b"<< /S /JavaScript /JS (app.alert(1)) >>"]
    data = write_pdf(objects, packed={5}, packed_extra=b"/Note (an obj) ")
    assert attachments.check_pdf(data) == data  # the first scan alone lets it through
    assert "scripts" in str(refusal(attach, data, "x.pdf").message)
    assert count(Attachment) == 0


def encrypted(data: bytes, *, user_password: str) -> bytes:
    """Return ``data`` encrypted with AES-256, an owner password and ``user_password`` to open it."""
    writer = PdfWriter(clone_from=io.BytesIO(data))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_pdf_that_only_restricts_changes_is_stored_decrypted_without_its_metadata(attach):
    data = encrypted(word_export(), user_password="")
    assert PdfReader(io.BytesIO(data)).decrypt("") and b"/Encrypt" in data
    stored = attachments.open_bytes(attach(data, "policy.pdf"))
    reader = PdfReader(io.BytesIO(stored))
    assert not reader.is_encrypted and reader.metadata is None and reader.xmp_metadata is None
    assert PAGE_TEXT in reader.pages[0].extract_text()


def test_pdf_that_needs_a_password_to_open_is_refused_with_what_to_do(attach):
    error = refusal(attach, encrypted(word_export(), user_password="secret"), "x.pdf")
    assert error.field == "file" and "password" in str(error.message) and "print it to a new PDF" in str(error.message)
    assert count(Attachment) == 0


@pytest.mark.parametrize("data", [
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n%%EOF\n",
    b"%PDF-1.7\n" + bytes(range(256)) * 20 + b"\nstartxref\n9\n%%EOF\n",
    write_pdf([b"<< /Type /Catalog >>"]),
], ids=["no-cross-reference", "garbage", "no-page-tree"])
def test_pdf_the_library_cannot_read_is_refused_with_what_to_do(attach, data):
    error = refusal(attach, data, "x.pdf")
    assert error.field == "file" and "could not read this PDF" in str(error.message)
    assert "Print it to a new PDF" in str(error.message) and count(Attachment) == 0


def test_pdf_with_a_wrong_cross_reference_table_is_repaired_and_nothing_of_it_reaches_the_log(attach, caplog):
    data = pdf_bytes(content=b"BT /F1 9 Tf (ZebraLogged) Tj ET").replace(b"0000000015 00000 n", b"0000000099 00000 n")
    with caplog.at_level(logging.DEBUG):
        stored = attachments.open_bytes(attach(data, "x.pdf"))
    assert len(PdfReader(io.BytesIO(stored)).pages) == 1
    assert not [record for record in caplog.records if record.name.startswith("pypdf")]


def test_pdf_that_keeps_the_library_busy_is_refused_once_its_time_is_up(app, attach):
    app.config["ATTACHMENT_PDF_SECONDS"] = 1
    started = time.monotonic()
    error = refusal(attach, missing_objects(1000), "x.pdf")  # about 10 s of searching
    assert "too complex" in str(error.message) and "split it" in str(error.message)
    assert time.monotonic() - started < 6 and count(Attachment) == 0


def test_pdf_that_needs_more_memory_than_allowed_is_refused(attach, monkeypatch):
    data = many_pages(2000)
    assert attach(data, "big.pdf").size > 0  # within the default limits
    monkeypatch.setattr(attachments, "PDF_MEMORY", 80 * 1024 * 1024)
    error = refusal(attach, data + b"\n", "x.pdf")  # other bytes: not the file already stored
    assert "too complex" in str(error.message) or "could not read" in str(error.message)
    assert count(Attachment) == 1


# The app is only read (its configuration): sharing it between examples is harmless.
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from([word_export(), word_export(packed=True)]),
       st.lists(st.tuples(st.floats(0, 1), st.binary(min_size=1, max_size=3)), min_size=1, max_size=4))
def test_a_damaged_pdf_is_refused_or_cleaned_never_an_error(app, data, damage):
    for where, junk in damage:
        at = int(where * (len(data) - 20))  # the end stays, so the file still looks like a whole PDF
        data = data[:at] + junk + data[at + len(junk):]
    try:
        cleaned = attachments.clean_pdf(data)
    except ServiceError as error:
        assert error.field == "file"
    else:
        assert PdfReader(io.BytesIO(cleaned)).metadata is None


# --- names ------------------------------------------------------------------------------------

@pytest.mark.parametrize("given_name, kind, expected", [
    ("../../etc/passwd", attachments.PNG, "passwd.png"),
    ("C:\\Users\\lee\\Desktop\\scan.jpeg", attachments.JPEG, "scan.jpeg"),
    ("培训现场照片.JPG", attachments.JPEG, "培训现场照片.jpg"),
    ("photo.png", attachments.PDF, "photo.pdf"),
    ("report.2024", attachments.PDF, "report.2024.pdf"),
    ("invoice\u202efdp.exe", attachments.PNG, "invoicefdp.png"),
    ("tab\tand\nnewline.gif", attachments.GIF, "tab and newline.gif"),
    ('a<b>:"c"|?*.webp', attachments.WEBP, "a_b___c____.webp"),
    ("", attachments.PNG, "attachment.png"),
    ("..", attachments.PDF, "attachment.pdf"),
    ("/", attachments.PDF, "attachment.pdf"),
    (".png", attachments.PNG, "attachment.png"),
])
def test_filenames_are_made_safe_and_match_the_type(given_name, kind, expected):
    assert attachments.clean_filename(given_name, kind) == expected


def test_long_names_are_cut_keeping_the_extension():
    name = attachments.clean_filename("长" * 300 + ".pdf", attachments.PDF)
    assert len(name) == 120 and name.endswith("长.pdf")


@settings(max_examples=300)
@given(st.text())
def test_any_name_becomes_a_plain_base_name(given_name):
    name = attachments.clean_filename(given_name, attachments.PNG)
    assert name.endswith(".png") and 5 <= len(name) <= 120
    assert not set(name) & set('/\\<>:"|?*') and name.isprintable() and not name.startswith(".")


def test_the_stored_name_is_the_clean_one(attach):
    assert attach(image_bytes("PNG"), "../../etc/passwd").filename == "passwd.png"


# --- who, how many, where ---------------------------------------------------------------------

@pytest.mark.parametrize("who", ["member", "moderator", "fred"])
def test_only_the_author_may_attach(request, attach, who):
    with pytest.raises(NotAllowed):
        attach(image_bytes(), by=request.getfixturevalue(who))


def test_nobody_may_attach_to_a_deleted_note(attach, draft, contributor):
    notes.delete(draft, by=contributor)
    with pytest.raises(NotAllowed):
        attach(image_bytes())


def test_the_eleventh_attachment_is_refused(attach, draft):
    for number in range(attachments.MAX_PER_NOTE):
        attach(image_bytes(size=(number + 1, 1)), f"{number}.png")
    error = refusal(attach, image_bytes())
    assert error.field == "file" and len(draft.attachments) == 10


def test_files_are_stored_once_by_content_and_deleted_with_their_last_use(app, attach, contributor):
    first, second = attach(image_bytes(), "a.png"), attach(image_bytes(), "b.png")
    path = attachments.path_of(first)
    assert first.sha256 == second.sha256 and path.parent.name == first.sha256[:2] and path.name == first.sha256
    assert path.is_relative_to(app.instance_path) and path.is_file()
    assert [p.name for p in path.parent.iterdir()] == [first.sha256]  # no temporary files left behind
    attachments.remove(first, by=contributor)
    assert path.is_file()
    attachments.remove(second, by=contributor)
    assert not path.exists()


def test_adding_and_removing_are_audited(attach, contributor, draft):
    item = attach(image_bytes())
    attachments.remove(item, by=contributor)
    assert count(AuditEntry, AuditEntry.action == "attachment.add", AuditEntry.target_id == draft.id) == 1
    assert count(AuditEntry, AuditEntry.action == "attachment.remove", AuditEntry.actor_id == contributor.id) == 1


def test_member_cannot_remove_an_attachment(attach, member):
    with pytest.raises(NotAllowed):
        attachments.remove(attach(image_bytes()), by=member)


@pytest.fixture
def published(draft, contributor, moderator):
    """The draft, submitted and approved."""
    notes.submit(draft, by=contributor)
    return notes.approve(draft, by=moderator)


def test_published_note_refuses_a_file_name_with_a_phone_number(attach, published):
    error = refusal(attach, image_bytes(), "13812345678.png")
    assert error.field == "file" and "personal data" in str(error.message)


def test_a_file_attached_to_a_published_note_waits_for_review_before_readers_copies_hear(attach, published,
                                                                                        moderator):
    before = count(Event, Event.kind == "note.updated")
    item = attach(image_bytes(), "poster.png")
    assert item.pending and published.pending.submitted_at is not None
    assert count(Event, Event.kind == "note.updated") == before
    notes.accept_changes(published, by=moderator, version=published.pending.version)
    assert not item.pending and count(Event, Event.kind == "note.updated") == before + 1


def test_a_trusted_authors_file_reaches_readers_copies_at_once(attach, published, contributor):
    contributor.edits_skip_review = True
    before = count(Event, Event.kind == "note.updated")
    item = attach(image_bytes(), "poster.png")
    assert not item.pending and count(Event, Event.kind == "note.updated") == before + 1
