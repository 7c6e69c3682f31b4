"""Time what removing a PDF's metadata costs an upload: pypdf's rewrite beside the existing scan for scripts.

Usage: .venv/bin/python bench/pdf_metadata.py [--repeat N]

Writes four PDFs of just under the 5 MB upload limit with the tests' hand-made writer
(tests/pdfs.py), all with an author in /Info and an XMP packet:

- **office export**: 40 pages of text and 8 camera photos of about 570 KB each (JPEGs of noise with
  EXIF, which the rewrite walks segment by segment and strips), the
  dictionaries packed in a compressed object stream, as Word or WPS export a report with pictures;
- **JPEG 2000 photos**: the same with 8 JPEG 2000 photos of about 480 KB (JP2 files with an XMP
  box and a codestream comment, which the rewrite walks box by box and strips);
- **inline photos**: the same with the 8 JPEG photos drawn as inline images inside the pages'
  content streams, as some scanners write them: pypdf parses those content streams, reading each
  inline JPEG byte by byte to find its end, and writes them back;
- **many objects**: 4,500 pages, each with its own content stream and five link annotations,
  31,500 objects written out plainly: about the most work per byte pypdf can be given.

For each: the scan alone (``check_pdf``, what an upload cost before), then the whole
``clean_pdf`` (scan, rewrite by pypdf in its own process, scan of the result), the median of
``--repeat`` runs in wall-clock seconds and CPU seconds (this process and the rewriting one), and
the peak resident memory of the rewriting process (run once more on its own, under the hub's
memory limit).
"""
from __future__ import annotations

import argparse
import io
import logging
import os
import resource
import statistics
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pypdf import PdfReader  # noqa: E402

from hub import create_app  # noqa: E402
from hub.config import TestConfig  # noqa: E402
from hub.services import attachments, pdf_rewrite  # noqa: E402
from tests.pdfs import INFO, PAGE_RESOURCES, XMP, jp2_box, many_pages, pdf_stream, write_pdf  # noqa: E402

LIMIT = 5 * 1024 * 1024


def photo() -> bytes:
    """Return an 800x600 JPEG of noise (about 570 KB: little for the walk to skip) as a camera writes it,
    EXIF with a GPS position included, so that the rewrite walks and strips each one."""
    from PIL import Image

    exif = Image.Exif()
    exif.get_ifd(0x8825).update({1: "N", 2: (30.0, 39.0, 12.5), 3: "E", 4: (104.0, 4.0, 1.0)})
    out = io.BytesIO()
    Image.frombytes("RGB", (800, 600), os.urandom(800 * 600 * 3)).save(out, "JPEG", quality=95, exif=exif)
    return out.getvalue()


def jpeg2000_photo() -> bytes:
    """Return an 800x600 JPEG 2000 photo of noise (about 480 KB) with an XMP box and a codestream comment."""
    from PIL import Image

    out = io.BytesIO()
    Image.frombytes("RGB", (800, 600), os.urandom(800 * 600 * 3)).save(
        out, "JPEG2000", quality_mode="rates", quality_layers=[3], comment=b"Kakadu-like encoder")
    data = out.getvalue()
    codestream_at = data.index(b"jp2c") - 4
    return data[:codestream_at] + jp2_box(b"xml ", XMP) + data[codestream_at:]


def office_export(images: str = "jpeg") -> bytes:
    """Return 40 pages of text with 8 photos, the dictionaries in a compressed object stream; ``images``
    says how the photos are placed: ``jpeg`` or ``jpeg2000`` image objects, or ``inline`` JPEGs."""
    objects: list[bytes] = [b"", b"", INFO, pdf_stream(XMP, b"/Type /Metadata /Subtype /XML ")]
    page_numbers, packed = [], {1, 2, 3}
    for index in range(40):
        text = b" ".join(b"BT /F1 10 Tf 40 %d Td (Line %d of page %d, about outreach and clinics.) Tj ET"
                         % (800 - 14 * line, line, index) for line in range(50))
        xobjects = b""
        if index < 8 and images == "inline":
            text += b" q 400 0 0 300 100 100 cm BI /W 800 /H 600 /CS /RGB /BPC 8 /F /DCT ID %s EI Q" % photo()
        elif index < 8:
            data, image_filter = (jpeg2000_photo(), b"/JPXDecode") if images == "jpeg2000" else (photo(), b"/DCTDecode")
            objects.append(pdf_stream(data, b"/Type /XObject /Subtype /Image /Width 800 /Height 600 "
                                      b"/ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter %s " % image_filter))
            xobjects = b"/XObject << /Im1 %d 0 R >> " % len(objects)
            text += b" q 400 0 0 300 100 100 cm /Im1 Do Q"
        objects.append(pdf_stream(zlib.compress(text), b"/Filter /FlateDecode "))
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R %s >>"
                       % (len(objects), PAGE_RESOURCES % xobjects))
        page_numbers.append(len(objects))
        packed.add(len(objects))
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R /Metadata 4 0 R >>"
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % n for n in page_numbers),
                                                            len(page_numbers))
    return write_pdf(objects, trailer=b"/Info 3 0 R ", packed=packed)


def timed(work: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Return the median wall-clock and CPU seconds (children included) of ``repeat`` runs of ``work``."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), _cpu()
        work()
        walls.append(time.perf_counter() - wall)
        cpus.append(_cpu() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


# Linux folds the peak of the address space a process leaves at exec into the peak it reports, so a
# child started from this process (which holds the PDFs) would report this process's size. A small
# launcher starts the rewriting program instead, and reports that program's own peak.
_LAUNCHER = ("import os, subprocess, sys; child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL); "
             "_pid, status, usage = os.wait4(child.pid, 0); print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)")


def child_peak_mb(data: bytes) -> float:
    """Run the rewriting process on ``data`` as the hub does and return its peak resident memory in MB."""
    done = subprocess.run([sys.executable, "-I", "-c", _LAUNCHER, sys.executable, "-I", pdf_rewrite.__file__,
                           str(attachments.DEFAULT_PDF_SECONDS), str(attachments.PDF_MEMORY)],
                          input=data, capture_output=True, check=True)
    status, peak_kb = map(int, done.stdout.split())
    assert status == 0, status
    return peak_kb / 1024


def decoded(pdf: bytes) -> bytes:
    """Return the file followed by every stream's decoded data."""
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # the numbers of dropped objects are free, not missing
    reader = PdfReader(io.BytesIO(pdf))
    objects = (reader.get_object(number) for number in range(1, int(reader.trailer["/Size"])))
    return pdf + b"".join(item.get_data() for item in objects if hasattr(item, "get_data"))


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    app = create_app(TestConfig)
    print(f"load average {os.getloadavg()[0]:.1f}, median of {repeat} runs; seconds wall-clock (CPU)")
    print("| PDF | size MB | objects | scan only | clean_pdf | rewriting process peak RSS MB | stored MB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    with app.app_context():
        for name, data in (("office export", office_export()), ("JPEG 2000 photos", office_export("jpeg2000")),
                           ("inline photos", office_export("inline")), ("many objects", many_pages(4500))):
            assert len(data) <= LIMIT, f"{name}: {len(data)} bytes, over the upload limit"
            stored = attachments.clean_pdf(data)
            assert PdfReader(io.BytesIO(stored)).metadata is None
            assert not any(marker in decoded(stored) for marker in (b"xmpmeta", b"Exif", b"Kakadu-like"))
            scan = timed(lambda: attachments.check_pdf(data), repeat)
            clean = timed(lambda: attachments.clean_pdf(data), repeat)
            count = int(PdfReader(io.BytesIO(data)).trailer["/Size"]) - 1
            print(f"| {name} | {len(data) / 1024 / 1024:.2f} | {count} | {scan[0]:.2f} ({scan[1]:.2f}) "
                  f"| {clean[0]:.2f} ({clean[1]:.2f}) | {child_peak_mb(data):.0f} | {len(stored) / 1024 / 1024:.2f} |")


if __name__ == "__main__":
    main()
