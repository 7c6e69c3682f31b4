"""Where the index lives, swapping in a rebuilt one atomically, and reading one commit of it.

On disk the index folder holds generations (``gen-000001/`` …) and a symlink ``current``
naming the live one. A rebuild writes a new generation beside it and replaces the symlink
with ``os.replace`` — atomic on POSIX — so searches keep working on the old one until then.
Tests use a RAM store: one per app.

Readers come from :func:`open_reader`: exactly one commit's segments, every file open from the
start, so neither a later commit's merge (which deletes files) nor a swapped-in rebuild can
change what a reader sees.
"""
from __future__ import annotations

import logging
import os
import shutil
import threading
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import STORED_COLUMN
from whoosh.filedb.filestore import RamStorage
from whoosh.index import TOC, Index
from whoosh.reading import IndexReader, MultiReader, SegmentReader

from search_index.schema import build_schema

log = logging.getLogger("hub.search")
_OPEN_ATTEMPTS = 20  # each one a commit that merged away a segment while a reader was being opened


class IndexUnavailable(RuntimeError):
    """The index is missing or cannot be opened; search must say so, never return "no results"."""


class IndexStore:
    """An index folder with generations, or an in-memory index."""

    def __init__(self, path: str | None) -> None:
        self.path = Path(path) if path else None
        self._ram: Index | None = None
        self._lock = threading.Lock()

    @property
    def in_memory(self) -> bool:
        """Tell whether this store keeps the index in memory (tests)."""
        return self.path is None

    def current_target(self) -> str:
        """Return what ``current`` points to (changes when a rebuild is swapped in)."""
        if self.path is None:
            return str(id(self._ram))
        try:
            return os.readlink(self.path / "current")
        except OSError:
            return ""

    def open(self) -> Index:
        """Open the live index, raising :class:`IndexUnavailable` when there is none or it is broken."""
        return self.open_current()[0]

    def open_current(self) -> tuple[Index, str]:
        """Open the live index and return it with its generation's name (see :meth:`current_target`).

        The index is opened in the generation's own folder, not through ``current``: a rebuild
        swapped in meanwhile must not send this index's later file opens to another generation.
        """
        if self.path is None:
            if self._ram is None:
                raise IndexUnavailable("no index yet")
            return self._ram, self.current_target()
        target = self.current_target()
        try:
            return whoosh_index.open_dir(str(self.path / (target or "current"))), target
        except Exception as error:  # missing folder, empty folder, unreadable TOC: all mean "rebuild"
            raise IndexUnavailable(str(error)) from error

    def new_generation(self) -> tuple[Index, str]:
        """Create an empty index beside the live one; return it with its name."""
        if self.path is None:
            return RamStorage().create_index(build_schema()), "ram"
        self.path.mkdir(parents=True, exist_ok=True)
        with self._lock:
            numbers = [int(p.name[4:]) for p in self.path.glob("gen-*") if p.name[4:].isdigit()]
            name = f"gen-{max(numbers, default=0) + 1:06d}"
            folder = self.path / name
            folder.mkdir()
        return whoosh_index.create_in(str(folder), build_schema()), name

    def swap(self, index: Index, name: str) -> None:
        """Make ``index`` (from :meth:`new_generation`) the live one, atomically; drop old ones."""
        if self.path is None:
            self._ram = index
            return
        link = self.path / f"current.{os.getpid()}.tmp"
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(name)
        os.replace(link, self.path / "current")
        self._prune(keep={name})

    def _prune(self, *, keep: set[str]) -> None:
        """Delete generations older than the previous one (readers may still hold the previous)."""
        generations = sorted(p for p in self.path.glob("gen-*") if p.is_dir())
        for old in generations[:-2]:
            if old.name not in keep:
                shutil.rmtree(old, ignore_errors=True)


class _HeldSegmentReader(SegmentReader):
    """Whoosh's segment reader with every file of the segment open from the start.

    Whoosh opens a segment's column files (stored fields, field lengths, sortable values) on
    first use; by then a later commit may have merged the segment away and deleted them, and
    ``stored_fields()`` or a length column silently comes back empty. Opened here, a file stays
    readable however long the reader lives (POSIX keeps an unlinked file while it is open). The
    segment's arrays file (search_index/postings.py) is opened with its term table, by the codec.
    """

    def __init__(self, storage, schema, segment, generation: int) -> None:
        super().__init__(storage, schema, segment, generation=generation)
        perdoc = self._perdoc
        names = ["_stored"]
        for name, field in schema.items():
            if field.scorable:
                names.append(f"_{name}_len")  # whoosh.codec.whoosh3._lenfield
            if field.column_type is not None:
                names.append(name)
        for name in names:
            if name not in perdoc._colfiles and perdoc.has_column(name):
                perdoc._colfiles[name] = perdoc._get_column_file(name)
        # stored_fields() asks has_column() before it reads, and that looks for the file on disk, which a
        # merge may have deleted since: its reader is made here, from the file held open.
        if "_stored" in perdoc._colfiles:
            perdoc._readers["_stored"] = perdoc.column_reader("_stored", STORED_COLUMN)

    def same_segment(self, segment) -> bool:
        """Tell whether this reader reads ``segment`` as it is now: same segment, same deletions."""
        mine = self._segment
        return (mine.segment_id() == segment.segment_id()
                and mine.deleted_count() == segment.deleted_count()
                and set(mine.deleted_docs()) == set(segment.deleted_docs()))


def open_reader(index: Index, previous: IndexReader | None = None) -> IndexReader:
    """Return a reader of the index's latest commit — exactly its segments, every file open.

    Not Whoosh's ``Searcher.refresh()``: whoosh3 (3.54, ``FileIndex._reader``, "merge segments
    with reuse segments") adds the old reader's segments to the new commit's, so after a merge a
    refreshed reader still reads the merged-away segments (documents twice, files deleted), and
    a reused segment reader keeps the deletions of the commit it was opened at; when a file
    vanishes mid-refresh, its retry reuses readers that the failed attempt closed
    (``ReaderClosed``). Here the commit's table of contents is read once, a segment reader of
    ``previous`` is kept only for the same segment with the same deletions, the others are opened
    with all their files (:class:`_HeldSegmentReader`). If a newer commit merged away one of the
    segments meanwhile, its files may be gone before they were opened: start again from that
    commit. Readers of ``previous`` that are not kept are closed once the new reader is whole.
    """
    kept = {reader.segment().segment_id(): reader for reader, _offset in (previous.leaf_readers() if previous else [])
            if isinstance(reader, _HeldSegmentReader) and not reader.is_closed}
    for _attempt in range(_OPEN_ATTEMPTS):
        opened: list[_HeldSegmentReader] = []
        try:
            toc = index._read_toc()
            readers = []
            for segment in toc.segments:
                reader = kept.get(segment.segment_id())
                if reader is None or not reader.same_segment(segment):
                    reader = _HeldSegmentReader(index.storage, toc.schema, segment, toc.generation)
                    opened.append(reader)
                readers.append(reader)
            whole = _segments_remain(index, toc)
        except OSError:  # a file deleted by a later commit between reading the TOC and opening it
            whole = False
        if whole:
            for reader in set(kept.values()) - set(readers):
                reader.close()
            combined = MultiReader(readers, generation=toc.generation)
            combined.schema = toc.schema  # also when the commit has no segments
            return combined
        for reader in opened:
            reader.close()
    raise IndexUnavailable("a segment of the index cannot be opened (missing or damaged files), or the index "
                           "kept changing while it was being opened")


def has_newer_commit(index: Index, generation: int) -> bool:
    """Tell whether the index has a commit newer than ``generation``, without listing its folder.

    Whoosh's ``latest_generation()`` lists the folder (a hundred files and more at scale) on every
    search. Two look-ups do: a commit writes the table of contents of the generation after the one
    it read (``_MAIN_<n+1>.toc``, renamed into place whole), and once written it deletes every other
    TOC (``whoosh.index.clean_files``). So if a newer commit exists, either the next TOC is there or,
    when a later commit has deleted it, this one's is gone too (by the end of that commit's clean-up).
    """
    storage, name = index.storage, index.indexname
    return storage.file_exists(TOC._filename(name, generation + 1)) or not storage.file_exists(
        TOC._filename(name, generation))


def _segments_remain(index: Index, toc: TOC) -> bool:
    """Tell whether every segment of ``toc`` is still in the latest commit, so none of their files
    was deleted before they were opened (a commit writes its TOC first, then deletes files)."""
    latest = index.latest_generation()
    if latest == toc.generation:
        return True
    newer = {segment.segment_id() for segment in index._read_toc().segments}
    return all(segment.segment_id() in newer for segment in toc.segments)
