"""Attachments over HTTP: the author uploads and removes them; they reach exactly the note's readers, inert."""
from __future__ import annotations

import io
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from flask import render_template
from PIL import Image
from pypdf import PdfReader
from pypdf.generic import StreamObject

from hub.extensions import db
from hub.models.audit import AuditEntry
from hub.models.note import Attachment, Note
from hub.services import attachments, notes
from tests import pdfs
from tests.helpers import count, csrf_token
from tests.pdfs import pdf_bytes

SAFE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; sandbox",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def jpeg_with_gps() -> bytes:
    """Return a JPEG whose EXIF holds a GPS position, as phones write them."""
    exif = Image.Exif()
    exif.get_ifd(0x8825).update({1: "N", 2: (30.0, 39.0, 12.5), 3: "E", 4: (104.0, 4.0, 1.0)})
    out = io.BytesIO()
    Image.new("RGB", (32, 24), "green").save(out, "JPEG", exif=exif)
    return out.getvalue()


def new_note(author, *, visibility: str = "members") -> Note:
    """Write a draft of ``author``."""
    return notes.create_draft(author=author, data=notes.NoteInput(title="t", summary="s", body="b",
                                                                  visibility=visibility))


def publish(note: Note, author, moderator) -> Note:
    """Submit and approve ``note``."""
    notes.submit(note, by=author)
    return notes.approve(note, by=moderator)


def attach(note: Note, author, data: bytes | None = None, filename: str = "photo.jpg") -> Attachment:
    """Attach a file through the service (for tests about reading)."""
    return attachments.add(note, by=author, filename=filename, stream=io.BytesIO(data or jpeg_with_gps()))


def url_of(item: Attachment, note_id: int | None = None) -> str:
    return f"/notes/{note_id or item.note_id}/attachments/{item.id}"


def upload(client, note: Note, data: bytes, filename: str, **kwargs):
    """Send a file through the editor's upload form, with a CSRF token from the editor page."""
    token = csrf_token(client, f"/notes/{note.id}/edit")
    form = {"csrf_token": token, "file": (io.BytesIO(data), filename)}
    return client.post(f"/notes/{note.id}/attachments", data=form, content_type="multipart/form-data", **kwargs)


@pytest.fixture
def draft(contributor):
    return new_note(contributor)


# --- uploading ------------------------------------------------------------------------------

def test_author_uploads_a_photo_and_gets_it_back_without_gps(client, login_as, contributor, draft):
    login_as(contributor)
    response = upload(client, draft, jpeg_with_gps(), "培训 照片.JPG", follow_redirects=True)
    assert response.status_code == 200 and response.request.path == f"/notes/{draft.id}/edit"
    assert "培训 照片.jpg" in response.get_data(as_text=True)  # the flash message
    item = db.session.scalars(db.select(Attachment).where(Attachment.note_id == draft.id)).one()
    served = client.get(url_of(item))
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert b"Exif" not in served.data and not Image.open(io.BytesIO(served.data)).getexif()
    for name, value in SAFE_HEADERS.items():
        assert served.headers[name] == value, name
    assert served.headers["Content-Disposition"].startswith("inline;")
    assert f"filename*=UTF-8''{quote('培训 照片.jpg')}" in served.headers["Content-Disposition"]
    assert "public" not in served.headers["Cache-Control"] and "Expires" not in served.headers


@pytest.mark.parametrize("state, visibility, kept", [
    ("draft", "public", "private, no-store"), ("published", "members", "private, no-store"),
    ("published", "partners", "private, no-store"), ("published", "public", "private, max-age=3600")])
def test_only_the_attachments_everyone_may_see_are_kept_by_the_browser(app, client, login_as, contributor, moderator,
                                                                         state, visibility, kept):
    """On a phone several people share, the next one would be shown a draft's or members-only photo from the
    browser's cache, without the hub being asked: only a public note's attachments may be kept there."""
    note = new_note(contributor, visibility=visibility)
    item = attach(note, contributor)
    if state == "published":
        publish(note, contributor, moderator)
    login_as(contributor)
    served = client.get(url_of(item))
    assert served.status_code == 200 and served.headers["Cache-Control"] == kept


def test_pdf_is_served_as_a_download(client, login_as, contributor, draft):
    item = attach(draft, contributor, pdf_bytes(), "会议纪要.pdf")
    login_as(contributor)
    served = client.get(url_of(item))
    assert served.status_code == 200 and served.mimetype == "application/pdf"
    assert served.data == attachments.open_bytes(item) and len(PdfReader(io.BytesIO(served.data)).pages) == 1
    assert served.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''%E4%BC%9A%E8%AE%AE%E7%BA%AA%E8%A6%81.pdf" in served.headers["Content-Disposition"]
    assert served.headers["Content-Security-Policy"] == SAFE_HEADERS["Content-Security-Policy"]


def test_unchanged_attachment_is_answered_not_modified(client, login_as, contributor, draft):
    item = attach(draft, contributor)
    login_as(contributor)
    etag = client.get(url_of(item)).headers["ETag"]
    again = client.get(url_of(item), headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["Cache-Control"] == "private, no-store"  # a draft's


def test_refused_upload_says_why_and_stores_nothing(client, login_as, contributor, draft):
    login_as(contributor)
    response = upload(client, draft, b"<html><script>alert(1)</script></html>", "photo.png", follow_redirects=True)
    assert "PNG, JPEG, GIF or WebP" in response.get_data(as_text=True)
    assert count(Attachment) == 0


def everything_in(pdf: bytes) -> bytes:
    """Return the file's bytes followed by the decoded data of each of its streams, as pypdf reads them."""
    reader = PdfReader(io.BytesIO(pdf))  # not strict: the numbers of dropped objects are free, not missing
    streams = [reader.get_object(number) for number in range(1, int(reader.trailer["/Size"]))]
    return pdf + b"".join(stream.get_data() for stream in streams if isinstance(stream, StreamObject))


@pytest.mark.parametrize("packed", [False, True], ids=["plain", "object-streams"])
def test_pdf_comes_back_without_its_author_title_or_xmp_but_with_its_page(client, login_as, contributor, draft,
                                                                           packed):
    sent = pdfs.word_export(packed=packed)
    before = PdfReader(io.BytesIO(sent))
    assert before.metadata.author == pdfs.AUTHOR and before.xmp_metadata is not None  # what Word/WPS leave in
    assert (b"ZebraPdfAuthor" in sent) is not packed  # packed: only a reader that unpacks finds the author
    login_as(contributor)
    response = upload(client, draft, sent, "外展名单.pdf", follow_redirects=True)
    assert "Attached 外展名单.pdf." in response.get_data(as_text=True)
    item = db.session.scalars(db.select(Attachment).where(Attachment.note_id == draft.id)).one()
    served = client.get(url_of(item))
    assert served.status_code == 200 and served.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(served.data), strict=True)
    assert reader.metadata is None and reader.xmp_metadata is None and "/ID" not in reader.trailer
    everything = everything_in(served.data)
    for marker in (*pdfs.METADATA_MARKERS, b"<a1b2>"):
        assert marker not in everything, marker
    page = reader.pages[0]
    assert pdfs.PAGE_TEXT in page.extract_text() and len(page.images) == 1
    assert page["/Annots"][0].get_object()["/A"]["/URI"] == pdfs.LINK


def upload_and_fetch(client, note: Note, data: bytes, filename: str) -> bytes:
    """Attach ``data`` through the editor's form and return the file as the hub serves it."""
    response = upload(client, note, data, filename, follow_redirects=True)
    assert f"Attached {filename}." in response.get_data(as_text=True)
    item = db.session.scalars(db.select(Attachment).where(Attachment.note_id == note.id)).one()
    return client.get(url_of(item)).data


def test_photo_inside_a_pdf_comes_back_without_its_gps_position_or_camera_serial(client, login_as, contributor,
                                                                                 draft):
    photo = pdfs.camera_jpeg(progressive=True)
    login_as(contributor)
    served = upload_and_fetch(client, draft, pdfs.photo_pdf(photo), "外展照片.pdf")
    for marker in pdfs.PHOTO_MARKERS:
        assert marker not in served, marker
    stored = PdfReader(io.BytesIO(served)).pages[0]["/Resources"]["/XObject"]["/Im1"].get_object().get_data()
    shown = Image.open(io.BytesIO(stored))
    assert not shown.getexif() and shown.tobytes() == Image.open(io.BytesIO(photo)).tobytes()


def test_jpeg2000_photo_inside_a_pdf_comes_back_without_its_gps_position_xmp_or_comment(client, login_as,
                                                                                      contributor, draft):
    photo = pdfs.camera_jpeg2000()
    login_as(contributor)
    served = upload_and_fetch(client, draft, pdfs.jpeg2000_pdf(photo), "外展照片.pdf")
    for marker in pdfs.JP2_MARKERS:
        assert marker not in everything_in(served), marker
    stored = PdfReader(io.BytesIO(served)).pages[0]["/Resources"]["/XObject"]["/Im1"].get_object().get_data()
    assert Image.open(io.BytesIO(stored)).tobytes() == Image.open(io.BytesIO(photo)).tobytes()


def test_inline_photo_inside_a_pdf_comes_back_without_its_gps_position_or_camera_serial(client, login_as,
                                                                                      contributor, draft):
    from pypdf.generic import ContentStream

    photo = pdfs.camera_jpeg(appended=False)
    login_as(contributor)
    served = upload_and_fetch(client, draft, pdfs.inline_photo_pdf(photo, filters=b"[/A85 /DCT]"), "扫描件.pdf")
    for marker in pdfs.PHOTO_MARKERS:
        assert marker not in everything_in(served), marker
    reader = PdfReader(io.BytesIO(served))
    operations = ContentStream(reader.pages[0].get_contents(), reader).operations
    (image,) = [operands["data"] for operands, operator in operations if operator == b"INLINE IMAGE"]
    shown = Image.open(io.BytesIO(image))
    assert not shown.getexif() and shown.tobytes() == Image.open(io.BytesIO(photo)).tobytes()


@pytest.mark.parametrize("language, expected", [("en", "cannot remove safely"),
                                                ("zh-CN,zh;q=0.9", "无法安全地去除")])
def test_pdf_with_a_photo_that_cannot_be_cleaned_is_refused_in_the_authors_language(client, login_as, contributor,
                                                                                     draft, language, expected):
    # The codestream in a fragment table (JPX) lies where the hub does not rewrite: refused, not stored as it came.
    sent = pdfs.jpeg2000_pdf(pdfs.camera_jpeg2000().replace(b"jp2c", b"ftbl", 1))
    login_as(contributor)
    token = csrf_token(client, f"/notes/{draft.id}/edit")
    answer = client.post(f"/notes/{draft.id}/attachments", content_type="multipart/form-data",
                         headers={"Accept": "application/json", "Accept-Language": language},
                         data={"csrf_token": token, "file": (io.BytesIO(sent), "x.pdf")})
    assert answer.status_code == 422 and expected in answer.get_json()["detail"]
    assert count(Attachment) == 0


HIDDEN_SCRIPT = pdfs.write_pdf(
    [b"<< /Type /Catalog /Pages 2 0 R /OpenAction 5 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
     b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>", pdfs.pdf_stream(b"BT ET"),
     b"<< /S /JavaScript /JS (app.alert(1)) >>"], packed={5}, packed_extra=b"/Note (an obj) ")


@pytest.mark.parametrize("sent, reason", [
    (pdf_bytes(catalog_extra=b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>"), "contains scripts"),
    (pdf_bytes(catalog_extra=b"/OpenAction << /S /Launch /F (calc.exe) >>"), "contains scripts"),
    (pdf_bytes(pdfs.pdf_stream(b"MZ payload", b"/Type /EmbeddedFile")), "contains scripts"),
    (pdfs.write_pdf([b"<< /Type /Catalog /Pages 2 0 R /AA << /O << /S /JavaScript /JS (1) >> >> >>",
                     b"<< /Type /Pages /Kids [] /Count 0 >>", pdfs.INFO], packed={1, 2, 3}), "contains scripts"),
    (HIDDEN_SCRIPT, "contains scripts"),
    (pdf_bytes(pdfs.object_stream(b"<< >>", extra=b"/Filter /LZWDecode")), "could not be checked for scripts"),
    (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n%%EOF\n", "could not read this PDF"),
    (pdfs.photo_pdf(pdfs.camera_jpeg()[2:]), "cannot remove safely"),
    (pdfs.inline_photo_pdf(pdfs.camera_jpeg()), "cannot remove safely"),
], ids=["script", "launch", "embedded-file", "script-in-object-stream", "script-hidden-from-the-first-scan",
        "unreadable-object-stream", "damaged", "photo-without-start-of-image",
        "inline-photo-that-cannot-be-delimited"])
def test_refused_pdf_says_why_and_stores_nothing(app, client, login_as, contributor, draft, sent, reason):
    login_as(contributor)
    response = upload(client, draft, sent, "x.pdf", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.request.path == f"/notes/{draft.id}/edit" and reason in page and "Print it to a new PDF" in page
    assert count(Attachment) == 0
    assert not [path for path in (Path(app.instance_path) / "attachments").rglob("*") if path.is_file()]


def test_password_protected_pdf_is_refused_in_the_authors_language(client, login_as, contributor, draft):
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=io.BytesIO(pdfs.word_export()))
    writer.encrypt(user_password="secret", owner_password="owner-secret", algorithm="AES-256")
    sent = io.BytesIO()
    writer.write(sent)
    login_as(contributor)
    token = csrf_token(client, f"/notes/{draft.id}/edit")
    answer = client.post(f"/notes/{draft.id}/attachments", content_type="multipart/form-data",
                         headers={"Accept": "application/json", "Accept-Language": "zh-CN,zh;q=0.9"},
                         data={"csrf_token": token, "file": (io.BytesIO(sent.getvalue()), "x.pdf")})
    assert answer.status_code == 422 and "密码" in answer.get_json()["detail"]
    assert count(Attachment) == 0


def test_upload_without_a_file_asks_for_one(client, login_as, contributor, draft):
    login_as(contributor)
    token = csrf_token(client, f"/notes/{draft.id}/edit")
    response = client.post(f"/notes/{draft.id}/attachments", data={"csrf_token": token}, follow_redirects=True)
    assert "Choose a file to attach." in response.get_data(as_text=True)


def test_upload_without_csrf_token_is_refused(client, login_as, contributor, draft):
    login_as(contributor)
    response = client.post(f"/notes/{draft.id}/attachments", data={"file": (io.BytesIO(jpeg_with_gps()), "a.jpg")},
                           content_type="multipart/form-data")
    assert response.status_code == 400 and count(Attachment) == 0


def test_request_larger_than_the_limit_goes_back_to_the_editor_with_the_reason(app, client, login_as, contributor,
                                                                                draft):
    login_as(contributor)
    token = csrf_token(client, f"/notes/{draft.id}/edit")
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    response = client.post(f"/notes/{draft.id}/attachments", content_type="multipart/form-data",
                           data={"csrf_token": token, "file": (io.BytesIO(b"\0" * 20_000), "big.png")})
    assert response.status_code == 302 and response.location.endswith(f"/notes/{draft.id}/edit")
    assert "The file is larger than 5 MB" in client.get(response.location).get_data(as_text=True)
    assert count(Attachment) == 0


def test_the_upload_script_gets_refusals_and_success_as_json(app, client, login_as, contributor, draft):
    login_as(contributor)
    token = csrf_token(client, f"/notes/{draft.id}/edit")
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    too_large = client.post(f"/notes/{draft.id}/attachments", content_type="multipart/form-data",
                            headers={"Accept": "application/json"},
                            data={"csrf_token": token, "file": (io.BytesIO(b"\0" * 20_000), "big.png")})
    assert too_large.status_code == 413 and too_large.mimetype == "application/problem+json"
    assert too_large.get_json()["ok"] is False and "larger than 5 MB" in too_large.get_json()["detail"]
    app.config["MAX_CONTENT_LENGTH"] = 12 * 1024 * 1024
    wrong = client.post(f"/notes/{draft.id}/attachments", content_type="multipart/form-data",
                        headers={"Accept": "application/json"},
                        data={"csrf_token": token, "file": (io.BytesIO(b"not a photo"), "x.png")})
    assert wrong.status_code == 422 and wrong.get_json()["ok"] is False and wrong.get_json()["detail"]
    good = client.post(f"/notes/{draft.id}/attachments", content_type="multipart/form-data",
                       headers={"Accept": "application/json"},
                       data={"csrf_token": token, "file": (io.BytesIO(jpeg_with_gps()), "photo.jpg")})
    answer = good.get_json()
    assert good.status_code == 200 and answer["ok"] is True and answer["message"] == "Attached photo.jpg."
    assert answer["html"].lstrip().startswith('<section class="attachments') and "photo.jpg" in answer["html"]
    assert count(Attachment) == 1


def test_member_cannot_upload(client, login_as, member, contributor, moderator):
    note = publish(new_note(contributor), contributor, moderator)
    login_as(member)
    response = client.post(f"/notes/{note.id}/attachments", data={"file": (io.BytesIO(jpeg_with_gps()), "a.jpg")},
                           content_type="multipart/form-data")
    assert response.status_code == 403 and count(Attachment) == 0


def test_another_contributor_cannot_upload_to_my_note(client, login_as, make_user, contributor, moderator):
    from hub.models.user import Role

    note = publish(new_note(contributor), contributor, moderator)
    login_as(make_user("other", role=Role.CONTRIBUTOR))
    response = upload(client, note, jpeg_with_gps(), "a.jpg", follow_redirects=True)
    assert response.request.path == f"/notes/{note.id}" and count(Attachment) == 0


# --- who may read ---------------------------------------------------------------------------

def test_anonymous_visitor_cannot_fetch_a_drafts_attachment(client, contributor, draft):
    assert client.get(url_of(attach(draft, contributor))).status_code == 404


def test_another_member_cannot_fetch_a_drafts_attachment(client, login_as, contributor, fred, draft):
    item = attach(draft, contributor)
    login_as(fred)
    assert client.get(url_of(item)).status_code == 404


def test_moderator_can_fetch_a_drafts_attachment(client, login_as, contributor, moderator, draft):
    item = attach(draft, contributor)
    login_as(moderator)
    assert client.get(url_of(item)).status_code == 200


def test_members_only_attachment_needs_sign_in(client, login_as, contributor, moderator, member):
    note = new_note(contributor)
    item = attach(note, contributor)
    publish(note, contributor, moderator)
    assert client.get(url_of(item)).status_code == 404
    login_as(member)
    assert client.get(url_of(item)).status_code == 200


def test_anyone_can_fetch_a_public_notes_attachment(client, contributor, moderator):
    note = new_note(contributor, visibility="public")
    item = attach(note, contributor)
    publish(note, contributor, moderator)
    response = client.get(url_of(item))
    assert response.status_code == 200 and response.headers["Cache-Control"] == "private, max-age=3600"


def test_attachment_is_only_found_under_its_own_note(client, login_as, contributor, draft):
    item = attach(draft, contributor)
    other = new_note(contributor)
    login_as(contributor)
    assert client.get(url_of(item, note_id=other.id)).status_code == 404
    assert client.get(f"/notes/{draft.id}/attachments/{item.id + 1}").status_code == 404


def test_deleted_notes_attachments_are_gone(app, client, login_as, contributor, moderator, draft):
    item_url = url_of(attach(draft, contributor))
    notes.delete(draft, by=contributor)
    login_as(contributor)
    assert client.get(item_url).status_code == 404  # a draft nobody else read: as if it never was
    note = new_note(contributor, visibility="public")
    item_url = url_of(attach(note, contributor))
    publish(note, contributor, moderator)
    notes.delete(note, by=contributor)
    for browser in (client, app.test_client()):
        assert browser.get(item_url).status_code == 410  # gone for those who could read it


# --- removing -------------------------------------------------------------------------------

def test_author_removes_an_attachment_and_it_is_audited(client, login_as, contributor, draft):
    item = attach(draft, contributor)
    item_url, path = url_of(item), attachments.path_of(item)
    login_as(contributor)
    token = csrf_token(client, f"/notes/{draft.id}/edit")
    response = client.post(item_url + "/delete", data={"csrf_token": token}, follow_redirects=True)
    assert response.request.path == f"/notes/{draft.id}/edit" and "Removed photo.jpg" in response.get_data(as_text=True)
    assert count(Attachment) == 0 and not path.exists()
    assert count(AuditEntry, AuditEntry.action == "attachment.remove", AuditEntry.actor_id == contributor.id) == 1
    assert client.get(item_url).status_code == 404


def test_a_removed_attachments_address_never_shows_the_next_one(client, login_as, contributor, draft):
    """The address stays in the note's text and in partners' copies: it must not come to show another file."""
    removed = attach(draft, contributor)
    removed_url = url_of(removed)
    login_as(contributor)
    token = csrf_token(client, f"/notes/{draft.id}/edit")
    assert client.post(removed_url + "/delete", data={"csrf_token": token}).status_code == 302
    assert upload(client, draft, pdf_bytes(), "plan.pdf").status_code == 302
    [added] = db.session.scalars(db.select(Attachment).where(Attachment.note_id == draft.id))
    assert url_of(added) != removed_url and client.get(removed_url).status_code == 404


def test_fred_cannot_remove_an_attachment(client, login_as, contributor, moderator, fred):
    note = new_note(contributor, visibility="public")
    item = attach(note, contributor)
    publish(note, contributor, moderator)
    login_as(fred)
    token = csrf_token(client, f"/notes/{note.id}")
    assert client.post(url_of(item) + "/delete", data={"csrf_token": token}).status_code == 403
    assert count(Attachment) == 1


def test_remove_without_csrf_token_is_refused(client, login_as, contributor, draft):
    item = attach(draft, contributor)
    login_as(contributor)
    assert client.post(url_of(item) + "/delete").status_code == 400
    assert count(Attachment) == 1


# --- the editor's partial -------------------------------------------------------------------

def test_attachments_partial_lists_files_and_offers_an_accessible_upload(app, contributor, draft):
    item = attach(draft, contributor, filename="海报.jpg")
    with app.test_request_context(f"/notes/{draft.id}/edit"):
        html = render_template("notes/_attachments_form.html", note=draft)
    assert "海报.jpg" in html and f'action="/notes/{draft.id}/attachments/{item.id}/delete"' in html
    assert 'enctype="multipart/form-data"' in html and html.count('name="csrf_token"') == 2
    assert re.search(r'<label for="attachment-file">', html) and 'id="attachment-file"' in html
    assert 'accept="image/png,image/jpeg,image/gif,image/webp,application/pdf"' in html
    assert "Location data" in html and "5 MB" in html
    assert "<script" not in html and "style=" not in html and "<style" not in html
