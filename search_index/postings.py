"""Every segment's postings as flat arrays in a file beside it: the only copy, for the engine and Whoosh.

Whoosh writes a term's postings in blocks of 128, each block a zlib-compressed pickle of
(ids, weights, values), and a value with positions was a pickle of its own. Reading a common
word's postings therefore unpickles thousands of blocks and tens of thousands of position lists:
80-130 ms for a word in 60% of 100k notes, every time a process first meets the word. The engine
(search_index/engine.py) needs arrays, not Python objects, so when a segment is written the
hub's codec writes its postings as arrays in ``<segment>.hubarr`` instead:

- per field: the terms (sorted UTF-8, one blob and end offsets, and every 64th term again as a
  small index kept in memory), each term's end in the postings
  arrays (document numbers ``int32``, frequencies ``float32``, and for fields with positions the
  number of positions of each posting) and in the positions array (``uint32``);
- one file per segment, named like Whoosh's own files, so Whoosh deletes it with its segment;
- read with ``os.pread``: a lookup is a binary search in the terms and slices of the arrays, the
  operating system's page cache holds the file once for every web process, and each process
  copies only the slices it asks for (a mapping would count whole page-cache folios, megabytes
  each, in every process's resident memory).

Whoosh keeps its term table (``.trm``: each term's statistics, which its corrector, key terms and
merges read) and its per-document columns; its postings file (``.pst``) stays empty. Whoosh reads
postings (deletions by id, the cursor document, merging segments) from the arrays file, through
the codec's terms reader, as lists. Index format 5 and earlier wrote every posting twice: at 100k
notes 471 MB of arrays beside 425 MB of Whoosh's blocks.

The codec sees postings as Whoosh hands them to its own field writer, for new segments, merged
segments and the rebuild's segments alike. Positions are stored as little-endian ``uint32``
(:class:`RawPositions`), so they decode with ``numpy.frombuffer``. A segment written by another
codec (Whoosh's own, with its blocks) is still searched, through those blocks; a segment of this
codec whose arrays file is missing or damaged cannot be read (its reader raises ``OSError``), and
the worker rebuilds the index.
"""
from __future__ import annotations

import json
import logging
import os
import struct
import threading
import weakref
from array import array
from bisect import bisect_left, bisect_right
from collections import defaultdict

import numpy as np
from whoosh import formats
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3Codec, W3FieldWriter, W3PostingsWriter, W3TermsReader, _lenfield
from whoosh.filedb.filestore import FileStorage
from whoosh.matching import ListMatcher
from whoosh.system import pack_uint
from whoosh.util.numeric import byte_to_length

EXT = ".hubarr"
_MAGIC = b"HUBARR1\n"
log = logging.getLogger("hub.search")
_ALIGN = 16
EMPTY_KEYS = np.zeros(0, dtype=np.int64)  # no occurrences
POSITION_BITS = 32  # an occurrence is one int64 key: document << POSITION_BITS | position
_SAMPLE = 64  # every 64th term is kept in memory to find a term with few pages of the file touched


class RawPositions(formats.Positions):
    """Whoosh's Positions format with each posting's positions as little-endian uint32, not a pickle.

    A term's weight is its number of occurrences times the field boost: the hub's analyzer never
    boosts single tokens, so the per-token boosts Whoosh's own format adds up are not read.
    """

    def word_values(self, value, analyzer, **kwargs):
        field_boost = self.field_boost
        found: defaultdict[str, list[int]] = defaultdict(list)
        kwargs["positions"] = True
        for token in formats.tokens(value, analyzer, kwargs):
            found[token.text].append(token.pos)
        pack = struct.pack
        for word, positions in found.items():
            count = len(positions)
            yield word, count, count * field_boost, pack(f"<{count}I", *positions)

    def encode(self, poslist) -> bytes:
        return struct.pack(f"<{len(poslist)}I", *poslist)

    def decode_positions(self, valuestring: bytes) -> list[int]:
        return list(struct.unpack(f"<{len(valuestring) // 4}I", valuestring))

    def decode_frequency(self, valuestring: bytes) -> int:
        return len(valuestring) // 4

    def decode_weight(self, valuestring: bytes) -> float:
        return self.decode_frequency(valuestring) * self.field_boost


class HubCodec(W3Codec):
    """Whoosh's codec with a segment's postings in its arrays file only.

    Whoosh's term table (``.trm``: each term's statistics) is written as before; its postings file
    (``.pst``) stays empty. Whoosh reads a term's postings (deleting by id, the cursor document,
    merging segments, its own queries in tests) from the arrays file through :class:`_ArrayTermsReader`;
    segments written before, with Whoosh's blocks, are read from those.
    """

    def field_writer(self, storage, segment):
        return _ArrayFieldWriter(self, storage, segment)

    def terms_reader(self, storage, segment):
        name = segment.make_filename(self.TERMS_EXT)
        arrays = _OPENED.get(storage, segment.segment_id())
        postings = segment.make_filename(self.POSTS_EXT)
        if arrays is None and not storage.file_length(postings):  # the only copy of its postings is gone
            raise OSError(f"search index: the arrays file of segment {segment.segment_id()} is missing or damaged")
        return _ArrayTermsReader(self, storage.open_file(name), storage.file_length(name),
                                 storage.open_file(postings), arrays)


class _FieldArrays:
    """What the writer gathers about one field, in compact C arrays (no Python object per posting)."""

    def __init__(self, boost: float, positions: bool) -> None:
        self.boost = boost
        self.positions = positions
        self.terms = bytearray()
        self.term_ends = array("q")
        self.post_ends = array("q")
        self.pos_ends = array("q")
        self.docs = array("I")
        self.weights = array("f")
        self.value_sizes = array("I")
        self.values = bytearray()


class _ArrayPostingsWriter(W3PostingsWriter):
    """Whoosh's postings writer, which hands each block's postings to the field's arrays instead of
    writing them to Whoosh's postings file, and keeps Whoosh's statistics of them in the term info.

    Whoosh gathers a block's ids and weights in C arrays and its values in a list; they are copied
    here once per block (128 postings), not once per posting.
    """

    def __init__(self, postfile, field: _FieldArrays, codec: W3Codec) -> None:
        super().__init__(postfile, blocklimit=codec._blocklimit, compression=codec._compression,
                         inlinelimit=codec._inlinelimit)
        self._field = field

    def add_posting(self, id_, weight, vbytes, length=None) -> None:
        """Whoosh's ``add_posting`` without its per-posting type assertions (the pool's postings
        are the codec's own); the same block statistics."""
        if len(self._ids) >= self._blocklimit:
            self._write_block()
        self._ids.append(id_)
        self._weights.append(weight)
        if weight > self._maxweight:
            self._maxweight = weight
        if vbytes:
            self._values.append(vbytes)
        if length:
            if self._minlength is None or length < self._minlength:
                self._minlength = length
            if length > self._maxlength:
                self._maxlength = length

    def _write_block(self, last=False) -> None:
        field = self._field
        field.docs.extend(self._ids)
        field.weights.extend(self._weights)
        if field.positions:
            field.value_sizes.extend(map(len, self._values))
            field.values += b"".join(self._values)
        self._terminfo.add_block(self)
        self._blockcount += 1
        self._new_block()

    def finish_postings(self):
        terminfo = self._terminfo
        if self._ids:
            self._write_block(last=True)
        terminfo.set_extent(0, 0)  # no extent in Whoosh's postings file: the postings are in the arrays file
        self._terminfo = None
        return terminfo


class _ArrayTermsReader(W3TermsReader):
    """Whoosh's term table reader, whose matchers read the postings from the segment's arrays file."""

    def __init__(self, codec, dbfile, length, postfile, arrays: SegmentArrays | None) -> None:
        super().__init__(codec, dbfile, length, postfile)
        self.arrays = arrays  # held open as long as the segment's reader

    def matcher(self, fieldname, tbytes, format_, scorer=None):
        terminfo = self.term_info(fieldname, tbytes)
        length = terminfo.extent()[1]  # whoosh3 reads the length back as a 1-tuple
        if terminfo.is_inlined() or (length[0] if isinstance(length, tuple) else length):  # Whoosh's blocks
            return super().matcher(fieldname, tbytes, format_, scorer=scorer)
        ids, weights, values = self.arrays.whoosh_postings(fieldname, tbytes, format_)
        return ListMatcher(ids, weights, values, format_, scorer=scorer, term=(fieldname, tbytes), terminfo=terminfo)


class _ArrayFieldWriter(W3FieldWriter):
    def __init__(self, codec, storage, segment) -> None:
        super().__init__(codec, storage, segment)
        self._arrays: dict[str, _FieldArrays] = {}
        self._field: _FieldArrays | None = None

    def add_postings(self, schema, lengths, items) -> None:
        super().add_postings(schema, _Lengths(lengths, self._segment.doc_count_all()) if lengths else lengths, items)

    def start_field(self, fieldname, fieldobj) -> None:
        super().start_field(fieldname, fieldobj)
        self._field = self._arrays.get(fieldname)
        if self._field is None:
            fmt = fieldobj.format
            self._field = self._arrays[fieldname] = _FieldArrays(fmt.field_boost or 1.0, isinstance(fmt, RawPositions))
        self._postwriter = _ArrayPostingsWriter(self._postfile, self._field, self._codec)

    def start_term(self, btext) -> None:
        super().start_term(btext)
        self._field.terms += btext

    def finish_term(self) -> None:
        super().finish_term()
        field = self._field
        field.term_ends.append(len(field.terms))
        field.post_ends.append(len(field.docs))
        field.pos_ends.append(len(field.values) >> 2)

    def close(self) -> None:
        super().close()
        _write(self._segment.create_file(self._storage, EXT), self._arrays)
        self._arrays = {}


class _Lengths:
    """The new segment's field lengths for Whoosh's block statistics, each column read once.

    Whoosh looks up the length of each posting's document in the column file, one read per
    posting; this reads a field's column in one go and answers from a list, with the same values.
    """

    def __init__(self, perdoc, doc_count: int) -> None:
        self._perdoc = perdoc
        self._doc_count = doc_count

    def doc_field_length_reader(self, fieldname: str, default=0):
        raw = length_bytes(self._perdoc, fieldname)
        if raw is None:
            return self._perdoc.doc_field_length_reader(fieldname, default)
        lengths = [_LENGTH_OF_BYTE[byte] for byte in raw]
        lengths += [None] * (self._doc_count - len(lengths))  # documents without the field: no byte
        return lengths.__getitem__


_LENGTH_OF_BYTE = [byte_to_length(byte) if byte else None for byte in range(256)]


def length_bytes(perdoc, fieldname: str) -> bytes | None:
    """Return a segment's length column of a field, one byte per document (Whoosh's encoded
    length), read in one go; None when the segment has no such fixed-width column."""
    reader = perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
    if reader is None or getattr(reader, "_fixedlen", None) != 1:
        return None
    return reader._dbfile.get(reader._basepos, reader._count)


def _write(out, fields: dict[str, _FieldArrays]) -> None:
    """Write the fields' arrays: magic, header length, JSON header, then each array 16-byte aligned."""
    chunks: list[tuple[int, memoryview]] = []
    header: dict[str, dict] = {}
    offset = 0
    for name, field in fields.items():
        freqs = np.frombuffer(field.weights, dtype=np.float32) / np.float32(field.boost)
        sample, sample_ends = _sample(field.terms, field.term_ends)
        arrays = {"terms": np.frombuffer(field.terms, dtype=np.uint8),
                  "sample": np.frombuffer(sample, dtype=np.uint8),
                  "sample_ends": np.frombuffer(sample_ends, dtype=np.int64),
                  "term_ends": np.frombuffer(field.term_ends, dtype=np.int64),
                  "post_ends": np.frombuffer(field.post_ends, dtype=np.int64),
                  "docs": np.frombuffer(field.docs, dtype=np.uint32).astype(np.int32),
                  "freqs": freqs.astype("<f4")}
        if field.positions:
            arrays.update(pos_ends=np.frombuffer(field.pos_ends, dtype=np.int64),
                          counts=np.frombuffer(field.value_sizes, dtype=np.uint32) // 4,
                          positions=np.frombuffer(field.values, dtype="<u4"))
        entry = {}
        for key, values in arrays.items():
            values = values.astype(values.dtype.newbyteorder("<"), copy=False)
            offset += -offset % _ALIGN
            entry[key] = [values.dtype.str, offset, len(values)]
            chunks.append((offset, memoryview(np.ascontiguousarray(values)).cast("B")))
            offset += values.nbytes
        header[name] = entry
    head = json.dumps({"fields": header}).encode()
    start = len(_MAGIC) + 8 + len(head)
    start += -start % _ALIGN
    out.write(_MAGIC + struct.pack("<Q", len(head)) + head + b"\0" * (start - len(_MAGIC) - 8 - len(head)))
    position = start
    for chunk_offset, data in chunks:
        out.write(b"\0" * (start + chunk_offset - position))
        out.write(data)
        position = start + chunk_offset + len(data)
    out.close()


def _sample(terms: bytearray, ends: array) -> tuple[bytearray, array]:
    """Return every ``_SAMPLE``-th term, as a blob and end offsets: the in-memory index of the terms."""
    sample, sample_ends = bytearray(), array("q")
    for number in range(0, len(ends), _SAMPLE):
        sample += terms[ends[number - 1] if number else 0:ends[number]]
        sample_ends.append(len(sample))
    return sample, sample_ends


class _Source:
    """Byte ranges of an arrays file: ``os.pread`` on an open file, or slices of bytes in memory.

    Reads are copies into the process (bounded by what the engine caches), not a mapping: a
    mapping's resident size grows by whole page-cache folios (up to megabytes) for each scattered
    read, while ``pread`` copies only what is asked for from the same shared page cache.
    """

    def __init__(self, *, fd: int | None = None, data: bytes | None = None) -> None:
        self._fd = fd
        self._data = memoryview(data) if data is not None else None
        if fd is not None:
            weakref.finalize(self, os.close, fd)

    def read(self, offset: int, size: int) -> bytes:
        if self._data is not None:
            found = self._data[offset:offset + size].tobytes()
        else:
            found = os.pread(self._fd, size, offset)
        if len(found) != size:
            raise ValueError("segment arrays file is shorter than its header says")
        return found


class _Field:
    """One field's arrays in a segment file, read in slices."""

    def __init__(self, source: _Source, start: int, entry: dict[str, list]) -> None:
        self._source = source
        self._arrays = {key: (np.dtype(dtype), start + offset, count) for key, (dtype, offset, count) in entry.items()}
        self.size = self._arrays["term_ends"][2]
        self.has_positions = "positions" in self._arrays
        self._sample = _split(self.slice("sample", 0, None).tobytes(), self.slice("sample_ends", 0, None))

    def slice(self, name: str, first: int, last: int | None) -> np.ndarray:
        """Return elements ``first`` to ``last`` (None: to the end) of one of the field's arrays."""
        dtype, offset, count = self._arrays[name]
        last = count if last is None else last
        if last <= first:
            return np.zeros(0, dtype=dtype)
        return np.frombuffer(self._source.read(offset + first * dtype.itemsize, (last - first) * dtype.itemsize),
                             dtype=dtype)

    def _ends(self, name: str, number: int) -> tuple[int, int]:
        """Return where term ``number`` starts and ends in the array that ``name`` (…_ends) indexes."""
        if not number:
            return 0, int(self.slice(name, 0, 1)[0])
        before, end = self.slice(name, number - 1, number + 1).tolist()
        return before, end

    def terms(self) -> list[bytes]:
        """Return every term of the field, in order."""
        return _split(self.slice("terms", 0, None).tobytes(), self.slice("term_ends", 0, None))

    def find(self, btext: bytes) -> int:
        """Return the number of a term, or -1.

        A binary search in the sampled terms (every ``_SAMPLE``-th, read once) finds the run of
        terms that holds it; that run's ends and text are read and searched.
        """
        block = bisect_right(self._sample, btext) - 1
        if block < 0:
            return -1
        low = block * _SAMPLE
        high = min(low + _SAMPLE, self.size)
        before = int(self.slice("term_ends", low - 1, low)[0]) if low else 0
        ends = self.slice("term_ends", low, high)
        run = _split(self.slice("terms", before, int(ends[-1])).tobytes(), ends - before)
        at = bisect_left(run, btext)
        return low + at if at < len(run) and run[at] == btext else -1

    def postings(self, number: int) -> tuple[np.ndarray, np.ndarray]:
        first, last = self._ends("post_ends", number)
        return self.slice("docs", first, last), self.slice("freqs", first, last)

    def containing(self, encoded: bytes) -> list[int]:
        """Return the numbers of the terms that contain the UTF-8 bytes ``encoded``.

        UTF-8 is self-synchronising: a match of a whole character's bytes is always that
        character, inside one term.
        """
        return [number for number, term in enumerate(self.terms()) if encoded in term]

    def keys(self, number: int, among: np.ndarray | None = None) -> np.ndarray:
        """Return a term's occurrences as sorted keys, document << 32 | position.

        With ``among`` (sorted document numbers), only those documents' occurrences.
        """
        first, last = self._ends("post_ends", number)
        start, end = self._ends("pos_ends", number)
        docs = self.slice("docs", first, last)
        counts = self.slice("counts", first, last).astype(np.int64)
        positions = self.slice("positions", start, end)
        if among is not None:
            wanted = in_sorted(docs, among)
            starts = (np.cumsum(counts) - counts)[wanted]
            docs, counts = docs[wanted], counts[wanted]
            total = int(counts.sum())
            if not total:
                return EMPTY_KEYS
            # Each wanted posting's positions: its start, repeated, plus 0, 1, … within it.
            offsets = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
            positions = positions[np.repeat(starts, counts) + offsets]
        return (np.repeat(docs.astype(np.int64), counts) << POSITION_BITS) | positions.astype(np.int64)


def _split(blob: bytes, ends) -> list[bytes]:
    """Return the pieces of ``blob`` that end at ``ends``."""
    ends = [int(end) for end in ends]
    return [blob[start:end] for start, end in zip([0, *ends[:-1]], ends)]


class SegmentArrays:
    """The arrays file of one segment: a term's documents, frequencies and positions as arrays."""

    def whoosh_postings(self, field_name: str, btext: bytes, format_) -> tuple[list[int], list[float], list[bytes]]:
        """Return a term's postings as Whoosh's matchers hold them: documents, weights and each
        posting's value in the field's format (positions as uint32, a frequency, or nothing)."""
        field = self._fields[field_name]
        number = field.find(btext)
        docs, freqs = field.postings(number)
        weights = (freqs * np.float32(format_.field_boost or 1.0)).tolist()
        if field.has_positions:
            first, last = field._ends("post_ends", number)
            start, end = field._ends("pos_ends", number)
            raw = field.slice("positions", start, end).tobytes()
            ends = (np.cumsum(field.slice("counts", first, last), dtype=np.int64) * 4).tolist()
            values = [raw[begin:finish] for begin, finish in zip([0, *ends[:-1]], ends)]
        elif isinstance(format_, formats.Frequency):
            values = [pack_uint(count) for count in freqs.astype(np.int64).tolist()]
        else:
            values = [b""] * len(docs)
        return docs.tolist(), weights, values

    def __init__(self, source: _Source) -> None:
        if source.read(0, len(_MAGIC)) != _MAGIC:
            raise ValueError("not a segment arrays file")
        (length,) = struct.unpack("<Q", source.read(len(_MAGIC), 8))
        head = json.loads(source.read(len(_MAGIC) + 8, length))
        start = len(_MAGIC) + 8 + length
        start += -start % _ALIGN
        self._fields = {name: _Field(source, start, entry) for name, entry in head["fields"].items()}

    def field(self, name: str) -> _Field | None:
        return self._fields.get(name)

    def postings(self, field_name: str, text: str | bytes) -> tuple[np.ndarray, np.ndarray] | None:
        """Return a term's documents and frequencies, or None when absent."""
        field = self._fields.get(field_name)
        number = field.find(_bytes(text)) if field is not None else -1
        return field.postings(number) if number >= 0 else None

    def positions(self, field_name: str, text: str | bytes, among: np.ndarray | None = None) -> np.ndarray:
        """Return a term's occurrences as sorted keys (document << 32 | position)."""
        field = self._fields.get(field_name)
        number = field.find(_bytes(text)) if field is not None and field.has_positions else -1
        return field.keys(number, among) if number >= 0 else EMPTY_KEYS

    def character_positions(self, field_name: str, character: str) -> np.ndarray:
        """Return the occurrences of every term that contains ``character``, as sorted unique keys."""
        field = self._fields.get(field_name)
        if field is None or not field.has_positions:
            return EMPTY_KEYS
        parts = [field.keys(number) for number in field.containing(character.encode("utf-8"))]
        return np.unique(np.concatenate(parts)) if parts else EMPTY_KEYS

    def values(self, field_name: str) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Return a field's terms, and (document, term number) pairs of all its postings."""
        field = self._fields.get(field_name)
        if field is None or not field.size:
            return [], np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32)
        terms = [term.decode("utf-8") for term in field.terms()]
        sizes = np.diff(field.slice("post_ends", 0, None), prepend=0)
        return terms, field.slice("docs", 0, None), np.repeat(np.arange(len(terms), dtype=np.int32), sizes)


def _bytes(text: str | bytes) -> bytes:
    """Return a term as the index holds it (numeric fields' terms are bytes already)."""
    return text if isinstance(text, bytes) else text.encode("utf-8")


def in_sorted(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """Return a mask of the ``values`` that the sorted array ``sorted_set`` holds."""
    if not len(sorted_set):
        return np.zeros(len(values), dtype=bool)
    at = np.searchsorted(sorted_set, values)
    at[at == len(sorted_set)] = len(sorted_set) - 1
    return sorted_set[at] == values


class _Opened:
    """The process's open segment files, while something holds them (each snapshot of the index
    holds its segments' files); a file no one holds is closed, so a merged-away or rebuilt-away
    segment's disk space is given back."""

    def __init__(self) -> None:
        self._items: weakref.WeakValueDictionary[tuple, SegmentArrays] = weakref.WeakValueDictionary()
        self._lock = threading.Lock()

    def get(self, storage, segment_id: str) -> SegmentArrays | None:
        key = (storage.folder if isinstance(storage, FileStorage) else id(storage), segment_id)
        with self._lock:
            found = self._items.get(key)
        if found is None:
            found = _open(storage, segment_id + EXT)
            if found is not None:
                with self._lock:
                    found = self._items.setdefault(key, found)
        return found


def _open(storage, name: str) -> SegmentArrays | None:
    """Open a segment's arrays file; None when the segment has none or it is damaged (then the
    engine reads Whoosh's blocks, slower but the same postings)."""
    try:
        if not storage.file_exists(name):
            return None
        if isinstance(storage, FileStorage):
            return SegmentArrays(_Source(fd=os.open(os.path.join(storage.folder, name), os.O_RDONLY)))
        with storage.open_file(name) as file:
            return SegmentArrays(_Source(data=file.read()))
    except (OSError, ValueError, KeyError, TypeError, struct.error) as error:  # JSONDecodeError is a ValueError
        log.warning("search index: cannot read %s (%s); reading the segment's postings from Whoosh", name, error)
        return None


_OPENED = _Opened()


def segment_arrays(segment_reader) -> SegmentArrays | None:
    """Return the arrays file of a Whoosh segment reader's segment, or None when it has none."""
    return _OPENED.get(segment_reader._storage, segment_reader._segment.segment_id())
