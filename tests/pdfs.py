"""PDFs written byte by byte for the attachment tests, so that each test knows exactly what a file holds.

:func:`write_pdf` numbers the objects it is given from 1 and ends the file with a classic
cross-reference table or, given ``packed``, puts those objects into one compressed object stream
behind a cross-reference stream, as Word, WPS and most PDF writers since PDF 1.5 do (then the
strings of those objects appear nowhere in the file's bytes). :func:`word_export` is a one-page
document carrying what an office suite writes about its author.
"""
from __future__ import annotations

import io
import random
import struct
import zlib
from collections.abc import Collection

# What Word/WPS put into an exported PDF; none of it may be stored.
AUTHOR = "ZebraPdfAuthor Wang Xiaoming 13812345678"
INFO = (b"<< /Author (%s) /Creator (ZebraCreator Microsoft Word) /Title (ZebraTitle outreach list) "
        b"/Company (ZebraCompany) /Producer (ZebraProducer) /CreationDate (D:20240301101500+08'00') >>"
        % AUTHOR.encode())
XMP = (b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
       b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator><rdf:Seq>'
       b'<rdf:li>ZebraXmpAuthor</rdf:li></rdf:Seq></dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>\n'
       b'<?xpacket end="w"?>')
METADATA_MARKERS = (b"ZebraPdfAuthor", b"13812345678", b"ZebraCreator", b"ZebraTitle", b"ZebraCompany",
                    b"ZebraProducer", b"ZebraXmp", b"xmpmeta", b"xpacket", b"/Author", b"/Metadata",
                    b"/PieceInfo", b"/LastModified", b"/CreationDate")

PAGE_TEXT = "ZebraPageText stays"
LINK = "https://example.org/practice"
# A page that draws text in a standard font, shows a 1x1 image and links to LINK.
PAGE_RESOURCES = b"/Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> %s>>"


def pdf_stream(data: bytes, extra: bytes = b"") -> bytes:
    """Return a stream object's body: its dictionary and its data."""
    return b"<< /Length %d %s>>\nstream\n%s\nendstream" % (len(data), extra, data)


def write_pdf(objects: list[bytes], *, trailer: bytes = b"", packed: Collection[int] = (),
              packed_extra: bytes = b"") -> bytes:
    """Write ``objects`` (object 1 is the catalogue) as a PDF, the numbers in ``packed`` in an object stream
    whose dictionary ends with ``packed_extra``."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    rows: dict[int, tuple[int, int, int]] = {0: (0, 0, 65535)}  # cross-reference rows: type, field 2, field 3
    for number, body in enumerate(objects, 1):
        if number not in packed:
            rows[number] = (1, len(out), 0)
            out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    if not packed:
        start = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
        out += b"".join(b"%010d 00000 n \n" % rows[number][1] for number in range(1, len(objects) + 1))
        out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, trailer, start)
        return bytes(out)
    stream_number, header, body = len(objects) + 1, [], b""
    for index, number in enumerate(sorted(packed)):
        header.append(b"%d %d" % (number, len(body)))
        body += objects[number - 1] + b"\n"
        rows[number] = (2, stream_number, index)
    first = b" ".join(header) + b"\n"
    rows[stream_number] = (1, len(out), 0)
    out += b"%d 0 obj\n%s\nendobj\n" % (stream_number, pdf_stream(
        zlib.compress(first + body), b"/Type /ObjStm /N %d /First %d /Filter /FlateDecode %s" % (len(packed), len(first), packed_extra)))
    xref_number = stream_number + 1
    rows[xref_number] = start = (1, len(out), 0)
    table = b"".join(struct.pack(">BIH", *rows.get(number, (0, 0, 0))) for number in range(xref_number + 1))
    out += b"%d 0 obj\n%s\nendobj\n" % (xref_number, pdf_stream(
        zlib.compress(table), b"/Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Filter /FlateDecode %s"
        % (xref_number + 1, trailer)))
    out += b"startxref\n%d\n%%%%EOF\n" % start[1]
    return bytes(out)


def pdf_bytes(*extra_objects: bytes, catalog_extra: bytes = b"", content: bytes = b"BT (Hello) Tj ET") -> bytes:
    """Write a one-page PDF (objects 1 to 4) with a classic cross-reference table, plus ``extra_objects``."""
    return write_pdf([b"<< /Type /Catalog /Pages 2 0 R %s>>" % catalog_extra,
                      b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                      b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>",
                      pdf_stream(content), *extra_objects])


def object_stream(objects: bytes, extra: bytes = b"/Filter /FlateDecode", packed: bytes | None = None) -> bytes:
    """Return an object stream holding object 9 (``objects``), compressed unless ``packed`` is given."""
    data = zlib.compress(b"9 0 " + objects) if packed is None else packed
    return pdf_stream(data, b"/Type /ObjStm /N 1 /First 4 " + extra + b" ")


def word_export(*, packed: bool = False) -> bytes:
    """Return a one-page PDF as an office suite exports it: text, an image and a link on the page, and
    the author in the trailer's /Info, in XMP packets (the catalogue's and the page's, one compressed),
    in application data and edit times; ``packed`` hides the dictionaries in a compressed object stream."""
    xmp = zlib.compress(XMP) if packed else XMP
    flate = b"/Filter /FlateDecode " if packed else b""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /Metadata 5 0 R /Lang (zh-CN) >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R /Metadata 8 0 R "
        + PAGE_RESOURCES % b"/XObject << /Im1 7 0 R >> "
        + b"/Annots [<< /Type /Annot /Subtype /Link /Rect [20 90 200 110] /A << /S /URI /URI (%s) >> >>] " % LINK.encode()
        + b"/PieceInfo << /Word << /LastModified (D:20240301101500+08'00') /Private (ZebraCompany) >> >> "
        + b"/LastModified (D:20240301101500+08'00') >>",
        pdf_stream(b"BT /F1 12 Tf 20 100 Td (%s) Tj ET q 10 0 0 10 20 20 cm /Im1 Do Q" % PAGE_TEXT.encode()),
        pdf_stream(xmp, b"/Type /Metadata /Subtype /XML " + flate),
        INFO,
        pdf_stream(b"\xff\x00\x00", b"/Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceRGB "
                                    b"/BitsPerComponent 8 /Metadata 8 0 R "),
        pdf_stream(XMP, b"/Type /Metadata /Subtype /XML "),
    ]
    return write_pdf(objects, trailer=b"/Info 6 0 R /ID [<a1b2> <a1b2>] ", packed={1, 2, 3, 6} if packed else ())


def many_pages(count: int, links: int = 5) -> bytes:
    """Return ``count`` pages, each with its own content stream and ``links`` link annotations, every object
    written plainly: much work for pypdf per byte (4,500 pages are about 4.8 MB and 31,500 objects)."""
    objects: list[bytes] = [b"", b""]
    kids = []
    for index in range(count):
        objects.append(pdf_stream(b"BT /F1 10 Tf 40 800 Td (Page %d) Tj ET" % index))
        first = len(objects) + 1
        objects.extend(b"<< /Type /Annot /Subtype /Link /Rect [40 %d 200 %d] /A << /S /URI /URI "
                       b"(https://example.org/%d/%d) >> >>" % (700 - 20 * n, 715 - 20 * n, index, n)
                       for n in range(links))
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R /Annots [%s] %s >>"
                       % (first - 1, b" ".join(b"%d 0 R" % n for n in range(first, first + links)),
                          PAGE_RESOURCES % b""))
        kids.append(len(objects))
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % n for n in kids), count)
    return write_pdf(objects)


def missing_objects(count: int) -> bytes:
    """Return a 4 MB one-page PDF that refers to ``count`` objects it does not hold: pypdf searches the whole
    file for each of them (about 10 ms apiece here), the cheapest way to keep it busy."""
    refs = b" ".join(b"%d 0 R" % (100_000 + n) for n in range(count))
    return pdf_bytes(pdf_stream(b"x" * 4_000_000), catalog_extra=b"/Padding 5 0 R /Missing [%s] " % refs)


# What a phone camera writes into a photo besides its pixels; none of it may be stored.
PHOTO_MARKERS = (b"Exif", b"ZebraCamSerial", b"ZebraXmpPhotographer", b"Photoshop 3.0", b"ZebraIptcCaption",
                 b"ZebraJpegComment", b"ZebraAfterTheEnd")


def camera_jpeg(*, progressive: bool = False, mode: str = "RGB", appended: bool = True, **save) -> bytes:
    """Return a JPEG photo as a phone writes it: EXIF with a GPS position and the camera's serial number,
    an XMP packet, an IPTC caption (APP13), a comment, and (unless not ``appended``) data after the end of
    the image."""
    from PIL import Image  # only the tests that build photos need Pillow

    exif = Image.Exif()
    exif.get_ifd(0x8825).update({1: "N", 2: (30.0, 39.0, 12.5), 3: "E", 4: (104.0, 4.0, 1.0)})
    exif[0xA431] = "ZebraCamSerial"  # BodySerialNumber
    out = io.BytesIO()
    noise = random.Random(48).randbytes(48 * 32 * 3)  # the same photo every time: hypothesis replays tests
    Image.frombytes("RGB", (48, 32), noise).convert(mode).save(
        out, "JPEG", exif=exif, xmp=b"<x:xmpmeta>ZebraXmpPhotographer</x:xmpmeta>", comment=b"ZebraJpegComment",
        progressive=progressive, **save)
    iptc = b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x14\x1c\x02\x78\x00\x10ZebraIptcCaption"
    data = out.getvalue()
    return (data[:2] + b"\xff\xed" + struct.pack(">H", len(iptc) + 2) + iptc + data[2:]
            + (b"ZebraAfterTheEnd" if appended else b""))


def photo_pdf(jpeg: bytes, *, flate: bool = False, image_filter: bytes = b"/DCTDecode") -> bytes:
    """Return a one-page PDF showing ``jpeg`` as an image XObject (compressed once more with ``flate``)."""
    data, filters = (zlib.compress(jpeg), b"[/FlateDecode %s]" % image_filter) if flate else (jpeg, image_filter)
    return write_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R "
        b"/Resources << /XObject << /Im1 5 0 R >> >> >>",
        pdf_stream(b"q 48 0 0 32 20 20 cm /Im1 Do Q"),
        pdf_stream(data, b"/Type /XObject /Subtype /Image /Width 48 /Height 32 /ColorSpace /DeviceRGB "
                         b"/BitsPerComponent 8 /Filter %s " % filters),
    ])


# What a camera or an editor writes into a JPEG 2000 photo besides its pixels; none of it may be stored.
JP2_MARKERS = (b"ZebraJp2Xmp", b"exif:GPSLatitude", b"JpgTiffExif", b"ZebraCamSerial", b"ZebraIptcCaption",
               b"ZebraJ2kComment", b"ZebraJp2Url", b"ZebraJp2Free", b"ZebraJp2Rights")
_EXIF_UUID = b"JpgTiffExif->JP2"
_IPTC_UUID = bytes.fromhex("33c7a4d2b81d4723a0baf1a3e097ad38")


def jp2_box(kind: bytes, payload: bytes) -> bytes:
    """Return a JPEG 2000 box."""
    return struct.pack(">I", len(payload) + 8) + kind + payload


def camera_jpeg2000(*, codestream: bool = False, **save) -> bytes:
    """Return a JPEG 2000 photo with a comment in its codestream and, as a JP2 file, the boxes cameras and
    editors add before the codestream: XMP with a GPS position (``xml ``), EXIF with a GPS position and
    the camera's serial and IPTC (``uuid``), a URL list (``uinf``), rights (``jp2i``) and free space;
    ``codestream`` gives the bare codestream instead."""
    from PIL import Image

    noise = random.Random(2000).randbytes(48 * 32 * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (48, 32), noise).save(out, "JPEG2000", no_jp2=codestream, comment=b"ZebraJ2kComment",
                                                 **save)
    data = out.getvalue()
    if codestream:
        return data
    exif = Image.Exif()
    exif.get_ifd(0x8825).update({1: "N", 2: (30.0, 39.0, 12.5), 3: "E", 4: (104.0, 4.0, 1.0)})
    exif[0xA431] = "ZebraCamSerial"
    metadata = (
        jp2_box(b"xml ", b'<x:xmpmeta><rdf:Description exif:GPSLatitude="30,39.2N">ZebraJp2Xmp'
                         b"</rdf:Description></x:xmpmeta>")
        + jp2_box(b"uuid", _EXIF_UUID + exif.tobytes()[6:])  # the TIFF structure, without JPEG's "Exif\0\0"
        + jp2_box(b"uuid", _IPTC_UUID + b"\x1c\x02\x78\x00\x10ZebraIptcCaption")
        + jp2_box(b"uinf", jp2_box(b"ulst", b"\x00\x01" + _EXIF_UUID)
                  + jp2_box(b"url ", b"\x00\x00\x00\x00https://example.org/ZebraJp2Url\x00"))
        + jp2_box(b"jp2i", b"ZebraJp2Rights") + jp2_box(b"free", b"ZebraJp2Free"))
    codestream_at = data.index(b"jp2c") - 4
    return data[:codestream_at] + metadata + data[codestream_at:]


def jpeg2000_pdf(jp2: bytes) -> bytes:
    """Return a one-page PDF showing ``jp2`` as a JPEG 2000 image XObject."""
    return photo_pdf(jp2, image_filter=b"/JPXDecode")


def inline_photo_pdf(jpeg: bytes, *, filters: bytes = b"/DCT", where: str = "page") -> bytes:
    """Return a one-page PDF drawing ``jpeg`` as an inline image (BI … ID … EI), in the page's content stream,
    in a form XObject the page draws (``form``), a link annotation's appearance (``appearance``), a tiling
    pattern the page fills with (``pattern``) or the glyph of a Type 3 font (``glyph``).
    ``filters`` beginning with [/A85 encode the data in ASCII85 first."""
    import base64

    data = base64.a85encode(jpeg) + b"~>" if filters.startswith(b"[/A85") else jpeg
    image = b"q 48 0 0 32 20 20 cm BI /W 48 /H 32 /CS /RGB /BPC 8 /F %s ID %s EI Q" % (filters, data)
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R %s>>"
    # How the page reaches the stream holding the image (object 5), and what that stream's dictionary says.
    draw, extra, kind = {
        "page": (image, b"", b""),
        "form": (b"/Fm1 Do", b"/Resources << /XObject << /Fm1 5 0 R >> >> ", b"/Type /XObject /Subtype /Form "),
        "appearance": (b"BT ET", b"/Annots [<< /Type /Annot /Subtype /Link /Rect [0 0 100 100] /AP << /N 5 0 R >> >>] ",
                       b""),
        "pattern": (b"/Pattern cs /P1 scn 0 0 300 200 re f", b"/Resources << /Pattern << /P1 5 0 R >> >> ",
                    b"/PatternType 1 /PaintType 1 /TilingType 1 /XStep 300 /YStep 200 /Resources << >> "),
        "glyph": (b"BT /T3 1 Tf (a) Tj ET",
                  b"/Resources << /Font << /T3 << /Type /Font /Subtype /Type3 /FontBBox [0 0 300 200] "
                  b"/FontMatrix [1 0 0 1 0 0] /CharProcs << /a 5 0 R >> /Encoding << /Differences [97 /a] >> "
                  b"/FirstChar 97 /LastChar 97 /Widths [300] >> >> >> ", b""),
    }[where]
    return write_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        page % extra,
        pdf_stream(draw),
        pdf_stream(image, kind + b"/BBox [0 0 300 200] "),
    ])
