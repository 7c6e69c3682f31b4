"""The rewrite of uploaded PDFs: photos inside them (JPEG, JPEG 2000, inline images) lose their camera metadata,
keep their pixels."""
from __future__ import annotations

import io
import struct
import zlib

import pytest
from hypothesis import given, settings, strategies as st
from PIL import Image
from pypdf import PdfReader
from pypdf.generic import ContentStream

from hub.services.pdf_rewrite import BadJpeg, BadJpeg2000, UncleanableImage, rewrite, strip_jpeg, strip_jpeg2000
from tests.pdfs import (JP2_MARKERS, PHOTO_MARKERS, camera_jpeg, camera_jpeg2000, inline_photo_pdf, jp2_box,
                        jpeg2000_pdf, pdf_stream, photo_pdf, write_pdf)


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


def damaged(data: st.DataObject, photo: bytes) -> bytes:
    """Draw up to four bytes of ``photo`` to change, and where to cut it short."""
    changed = bytearray(photo)
    for _ in range(data.draw(st.integers(0, 4))):
        changed[data.draw(st.integers(0, len(changed) - 1))] = data.draw(st.integers(0, 255))
    return bytes(changed[:data.draw(st.integers(0, len(changed)))])


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


def test_a_segment_under_a_reserved_marker_goes():
    # One damaged byte turns the EXIF segment's APP1 marker into a reserved one, which no decoder reads.
    photo = camera_jpeg()
    damaged = photo.replace(b"\xff\xe1", b"\xff\x02", 1)
    stripped = strip_jpeg(damaged)
    assert b"Exif" not in stripped and b"ZebraCamSerial" not in stripped and pixels(stripped) == pixels(photo)


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
    # A damaged marker byte puts the EXIF segment under a frame header's or arithmetic tables' marker.
    lambda jpeg: jpeg.replace(b"\xff\xe1", b"\xff\xc0", 1),
    lambda jpeg: jpeg.replace(b"\xff\xe1", b"\xff\xcc", 1),
], ids=["empty", "no-soi", "png-header", "soi-only", "truncated-segment", "cut-length", "short-length",
        "garbage-between-segments", "second-soi", "fill-to-the-end", "exif-as-frame", "exif-as-tables"])
def test_a_jpeg_whose_segments_cannot_be_walked_is_refused(damage):
    with pytest.raises(BadJpeg):
        strip_jpeg(damage(camera_jpeg()))


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_damage_gives_a_clean_photo_or_a_refusal(data):
    cut = damaged(data, camera_jpeg(progressive=data.draw(st.booleans())))
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
    with pytest.raises(UncleanableImage):
        rewrite(sent)



# --- JPEG 2000 ---------------------------------------------------------------------------------

def boxes(jp2: bytes) -> list[bytes]:
    """Return the types of the top-level boxes of a JP2 file."""
    found, position = [], 0
    while position < len(jp2):
        length = struct.unpack(">I", jp2[position:position + 4])[0]
        found.append(jp2[position + 4:position + 8])
        position += length or len(jp2)
    return found


@pytest.mark.parametrize("codestream", [False, True], ids=["jp2-file", "bare-codestream"])
def test_a_jpeg2000_photos_metadata_boxes_and_comments_go_and_its_pixels_stay(codestream):
    photo = camera_jpeg2000(codestream=codestream)
    assert all(marker in photo for marker in JP2_MARKERS[5 if codestream else 0:6])
    stripped = strip_jpeg2000(photo)
    for marker in JP2_MARKERS:
        assert marker not in stripped, marker
    assert pixels(stripped) == pixels(photo)
    if not codestream:
        assert boxes(stripped) == [b"jP  ", b"ftyp", b"jp2h", b"jp2c"]


def test_comments_in_tile_part_headers_go_and_the_tile_lengths_follow():
    photo = camera_jpeg2000(codestream=True, tile_size=(16, 16))
    comment = b"\xff\x64" + struct.pack(">HH", 2 + 2 + 13, 1) + b"ZebraTileNote"
    main_end = position = photo.index(b"\xff\x90\x00\x0a")
    tiles, lengths = [], []
    while photo[position:position + 2] == b"\xff\x90":  # a comment after each tile-part's SOT, whose Psot grows
        length = struct.unpack(">I", photo[position + 6:position + 10])[0] + len(comment)
        tiles.append(photo[position:position + 6] + struct.pack(">I", length) + photo[position + 10:position + 12]
                     + comment + photo[position + 12:position + length - len(comment)])
        lengths.append(length)
        position += length - len(comment)
    # A TLM segment in the main header lists the tile-part lengths; they change, so it must go.
    tlm = b"\xff\x55" + struct.pack(">HBB", 4 + 4 * len(lengths), 0, 0x40) + b"".join(
        struct.pack(">I", length) for length in lengths)
    commented = photo[:main_end] + tlm + b"".join(tiles) + photo[position:]
    assert len(tiles) == 6 and pixels(commented) == pixels(photo)
    stripped = strip_jpeg2000(commented)
    assert b"ZebraTile" not in stripped and b"ZebraJ2k" not in stripped and b"\xff\x55" not in stripped
    assert pixels(stripped) == pixels(photo)


def test_jpeg2000_photos_in_a_pdf_are_stored_without_their_metadata():
    photo = camera_jpeg2000()
    written = rewrite(jpeg2000_pdf(photo))
    for marker in JP2_MARKERS:
        assert marker not in written, marker
    image = PdfReader(io.BytesIO(written)).pages[0]["/Resources"]["/XObject"]["/Im1"].get_object()
    assert image["/Filter"] == "/JPXDecode" and pixels(image.get_data()) == pixels(photo)


def fragmented(jp2: bytes) -> bytes:
    """Return ``jp2`` with its codestream moved into a fragment table, as JPX allows."""
    return jp2.replace(b"jp2c", b"ftbl", 1)


@pytest.mark.parametrize("damage", [
    lambda jp2: b"",
    lambda jp2: b"\x00\x00\x00\x0cjP  \r\n\x87\n",  # a signature and nothing else: no codestream
    lambda jp2: jp2[:40],  # a box longer than the file
    fragmented,
    lambda jp2: jp2 + jp2_box(b"jp2c", b"\xff\x4f\xff\x51"),  # a second codestream
    lambda jp2: jp2.replace(b"\xff\x4f\xff\x51", b"\xff\x4f\x00\x51"),  # a codestream header without markers
    # a tile-part longer than the file
    lambda jp2: jp2[:jp2.index(b"\xff\x90")] + b"\xff\x90\x00\x0a\x00\x00\x7f\xff\xff\xff\x00\x01",
], ids=["empty", "no-codestream", "truncated-box", "fragment-table", "two-codestreams", "broken-header",
        "tile-past-the-end"])
def test_a_jpeg2000_image_whose_structure_cannot_be_walked_is_refused(damage):
    with pytest.raises(BadJpeg2000):
        strip_jpeg2000(damage(camera_jpeg2000()))


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_damage_to_a_jpeg2000_photo_gives_a_clean_photo_or_a_refusal(data):
    cut = damaged(data, camera_jpeg2000(codestream=data.draw(st.booleans())))
    try:
        stripped = strip_jpeg2000(cut)
    except BadJpeg2000:
        return
    for marker in (b"ZebraJp2Xmp", b"ZebraCamSerial", b"ZebraIptc", b"ZebraJp2Url", b"ZebraJp2Free"):
        assert marker not in stripped, marker


# --- inline images -------------------------------------------------------------------------------

def inline_images(written: bytes, where: str) -> list[dict]:
    """Return pypdf's reading of the inline images drawn on the written PDF's page, in a form or an appearance."""
    reader = PdfReader(io.BytesIO(written))
    page = reader.pages[0]
    resources = page.get("/Resources", {})
    stream = {"page": lambda: page.get_contents(),
              "form": lambda: resources["/XObject"]["/Fm1"].get_object(),
              "appearance": lambda: page["/Annots"][0].get_object()["/AP"]["/N"].get_object(),
              "pattern": lambda: resources["/Pattern"]["/P1"].get_object(),
              "glyph": lambda: resources["/Font"]["/T3"]["/CharProcs"]["/a"].get_object()}[where]()
    return [operands for operands, operator in ContentStream(stream, reader).operations if operator == b"INLINE IMAGE"]


def decoded_streams(written: bytes) -> bytes:
    """Return every stream of the written PDF, decoded: what is compressed cannot hide a marker."""
    reader = PdfReader(io.BytesIO(written))
    objects = (reader.get_object(number) for number in range(1, int(reader.trailer["/Size"])))
    return b"".join(item.get_data() for item in objects if hasattr(item, "get_data"))


@pytest.mark.parametrize("filters", [b"/DCT", b"/DCTDecode", b"[/A85 /DCT]"], ids=["dct", "full-name", "ascii85-dct"])
@pytest.mark.parametrize("where", ["page", "form", "appearance", "pattern", "glyph"])
def test_inline_jpeg_images_lose_their_metadata_and_keep_their_pixels(where, filters):
    photo = camera_jpeg(appended=False)
    written = rewrite(inline_photo_pdf(photo, filters=filters, where=where))
    everything = decoded_streams(written)
    for marker in PHOTO_MARKERS:
        assert marker not in everything, marker
    (image,) = inline_images(written, where)
    assert image["settings"]["/F"] == "/DCT" and pixels(image["data"]) == pixels(photo)


def test_a_content_stream_without_inline_jpeg_images_is_left_as_it_was():
    sent = inline_photo_pdf(b"\x00" * 48 * 32 * 3, filters=b"/AHx")  # not parsed as hex here: any bytes pass
    sent = sent.replace(b"/F /AHx ", b"")
    written = rewrite(sent)
    assert b"BI /W 48 /H 32 /CS /RGB /BPC 8 ID " in written  # the stream was not rewritten


def test_an_inline_jpeg_that_cannot_be_delimited_is_refused():
    # pypdf finds the end of an inline JPEG at its end-of-image marker; data appended after it hides "EI".
    with pytest.raises(UncleanableImage):
        rewrite(inline_photo_pdf(camera_jpeg(appended=True)))
