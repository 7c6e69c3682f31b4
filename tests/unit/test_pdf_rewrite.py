"""The rewrite of uploaded PDFs: photos inside them lose their camera metadata, keep their pixels."""
from __future__ import annotations

import io
import struct
import zlib

import pytest
from hypothesis import given, settings, strategies as st
from PIL import Image
from pypdf import PdfReader

from hub.services.pdf_rewrite import BadJpeg, rewrite, strip_jpeg
from tests.pdfs import PHOTO_MARKERS, camera_jpeg, pdf_stream, photo_pdf, write_pdf


def pixels(jpeg: bytes) -> bytes:
    """Decode ``jpeg`` the way a viewer does."""
    return Image.open(io.BytesIO(jpeg)).convert("RGB").tobytes()


def segment(marker: int, payload: bytes) -> bytes:
    """Return one JPEG segment: its marker, its length and ``payload``."""
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def markers(jpeg: bytes) -> list[int]:
    """Return the markers of the segments before the first scan, in order."""
    found, position = [], 2
    while jpeg[position + 1] != 0xDA:
        found.append(jpeg[position + 1])
        position += 2 + struct.unpack(">H", jpeg[position + 2:position + 4])[0]
    return found


@pytest.mark.parametrize("progressive", [False, True], ids=["baseline", "progressive"])
def test_a_photos_exif_xmp_iptc_comment_and_appended_data_go_and_its_pixels_stay(progressive):
    photo = camera_jpeg(progressive=progressive)
    stripped = strip_jpeg(photo)
    for marker in PHOTO_MARKERS:
        assert marker not in stripped, marker
    assert pixels(stripped) == pixels(photo) and stripped.endswith(b"\xff\xd9")
    assert not Image.open(io.BytesIO(stripped)).getexif()


def test_what_decoders_need_for_colour_stays():
    cmyk = camera_jpeg(mode="CMYK", icc_profile=b"ZebraIccProfile")
    stripped = strip_jpeg(cmyk)
    kept = markers(stripped)
    assert 0xEE in kept and 0xE2 in kept and 0xE1 not in kept and 0xED not in kept  # Adobe, ICC; no EXIF, IPTC
    assert Image.open(io.BytesIO(stripped)).info["icc_profile"] == b"ZebraIccProfile"
    assert pixels(stripped) == pixels(cmyk)
    assert markers(strip_jpeg(camera_jpeg()))[0] == 0xE0  # JFIF


def test_a_jfif_extension_thumbnail_and_other_app2_data_go():
    photo = camera_jpeg()
    extra = segment(0xE0, b"JFXX\x00\x10ZebraThumbnail") + segment(0xE2, b"MPF\x00ZebraSecondImage")
    stripped = strip_jpeg(photo[:2] + extra + photo[2:])
    assert b"ZebraThumbnail" not in stripped and b"ZebraSecondImage" not in stripped
    assert pixels(stripped) == pixels(photo)


def test_metadata_between_the_scans_of_a_progressive_photo_goes():
    photo = camera_jpeg(progressive=True)
    second_scan = photo.index(b"\xff\xda", photo.index(b"\xff\xda") + 2)
    hidden = photo[:second_scan] + segment(0xE1, b"Exif\x00\x00ZebraBetweenScans") + photo[second_scan:]
    stripped = strip_jpeg(hidden)
    assert b"ZebraBetweenScans" not in stripped and pixels(stripped) == pixels(photo)


def test_restart_markers_stuffed_bytes_and_fill_bytes_are_walked_over():
    photo = camera_jpeg(restart_marker_blocks=1)
    assert any(bytes((0xFF, rst)) in photo for rst in range(0xD0, 0xD8)) and b"\xff\x00" in photo
    filled = photo.replace(b"\xff\xdb", b"\xff\xff\xff\xdb", 1).replace(b"\xff\xd9", b"\xff\xff\xd9")
    for sent in (photo, filled):
        stripped = strip_jpeg(sent)
        assert b"Exif" not in stripped and pixels(stripped) == pixels(photo)


def test_a_photo_cut_short_inside_its_image_data_keeps_what_it_has():
    photo = camera_jpeg()
    cut = photo[:photo.index(b"\xff\xd9") - 40]
    stripped = strip_jpeg(cut)
    assert b"Exif" not in stripped and stripped.endswith(cut[-40:])


@pytest.mark.parametrize("damage", [
    lambda jpeg: b"",
    lambda jpeg: jpeg[2:],  # no start of image
    lambda jpeg: b"\x89PNG\r\n\x1a\n" + jpeg,
    lambda jpeg: jpeg[:2],  # nothing after the start of image
    lambda jpeg: jpeg[:2] + b"\xff\xe1\x40\x00Exif\x00\x00GPS",  # a segment longer than the file
    lambda jpeg: jpeg[:2] + b"\xff\xe1\x00",  # cut inside the length field
    lambda jpeg: jpeg[:2] + b"\xff\xe1\x00\x01" + jpeg[2:],  # a length shorter than the length field
    lambda jpeg: jpeg[:2] + b"Exif GPS" + jpeg[2:],  # bytes where a marker should be
    lambda jpeg: jpeg[:2] + b"\xff\xd8" + jpeg[2:],  # a second start of image
    lambda jpeg: jpeg[:2] + b"\xff\xff\xff",  # fill bytes, then nothing
], ids=["empty", "no-soi", "png-header", "soi-only", "truncated-segment", "cut-length", "short-length",
        "garbage-between-segments", "second-soi", "fill-to-the-end"])
def test_a_jpeg_whose_segments_cannot_be_walked_is_refused(damage):
    with pytest.raises(BadJpeg):
        strip_jpeg(damage(camera_jpeg()))


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_damage_gives_a_clean_photo_or_a_refusal(data):
    photo = bytearray(camera_jpeg(progressive=data.draw(st.booleans())))
    for _ in range(data.draw(st.integers(0, 4))):
        photo[data.draw(st.integers(0, len(photo) - 1))] = data.draw(st.integers(0, 255))
    cut = bytes(photo[:data.draw(st.integers(0, len(photo)))])
    try:
        stripped = strip_jpeg(cut)
    except BadJpeg:
        return
    # Whatever survives the walk is image data: no segment with the camera's records is copied.
    assert b"ZebraCamSerial" not in stripped and b"ZebraXmp" not in stripped and b"ZebraAfter" not in stripped


@pytest.mark.parametrize("flate", [False, True], ids=["dct", "flate-then-dct"])
def test_photos_in_a_pdf_are_stored_without_their_metadata_as_plain_jpegs(flate):
    photo = camera_jpeg()
    written = rewrite(photo_pdf(photo, flate=flate))
    for marker in PHOTO_MARKERS:
        assert marker not in written, marker
    image = PdfReader(io.BytesIO(written)).pages[0]["/Resources"]["/XObject"]["/Im1"].get_object()
    assert image["/Filter"] == "/DCTDecode" and "/DecodeParms" not in image
    assert pixels(image.get_data()) == pixels(photo)


def test_dct_parameters_of_a_filter_chain_are_kept_for_the_jpeg():
    photo = camera_jpeg()
    sent = write_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 9 9] /Resources << /XObject << /Im1 4 0 R >> >> >>",
        pdf_stream(zlib.compress(photo), b"/Subtype /Image /Width 48 /Height 32 /ColorSpace /DeviceRGB "
                                         b"/BitsPerComponent 8 /Filter [/FlateDecode /DCTDecode] "
                                         b"/DecodeParms [null << /ColorTransform 1 >>] ")])
    image = PdfReader(io.BytesIO(rewrite(sent))).pages[0]["/Resources"]["/XObject"]["/Im1"].get_object()
    assert image["/DecodeParms"] == {"/ColorTransform": 1} and b"Exif" not in image.get_data()


@pytest.mark.parametrize("body, filters", [
    (b"not a jpeg at all", b"/DCTDecode"),
    (None, b"[/DCTDecode /FlateDecode]"),  # pixels cannot be inflated
], ids=["not-a-jpeg", "dct-before-flate"])
def test_a_pdf_with_a_photo_that_cannot_be_cleaned_is_not_rewritten(body, filters):
    sent = photo_pdf(camera_jpeg()).replace(b"/Filter /DCTDecode", b"/Filter " + filters)
    if body is not None:
        sent = write_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                          b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 9 9] "
                          b"/Resources << /XObject << /Im1 4 0 R >> >> >>",
                          pdf_stream(body, b"/Subtype /Image /Width 1 /Height 1 /Filter " + filters)])
    with pytest.raises(BadJpeg):
        rewrite(sent)

