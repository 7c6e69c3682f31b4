"""Where the index lives, and swapping in a rebuilt one atomically.

On disk the index folder holds generations (``gen-000001/`` …) and a symlink ``current``
naming the live one. A rebuild writes a new generation beside it and replaces the symlink
with ``os.replace`` — atomic on POSIX — so searches keep working on the old one until then.
Tests use a RAM store: one per app.
"""
from __future__ import annotations

import logging
import os
import shutil
import threading
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.filedb.filestore import RamStorage
from whoosh.index import Index

from search_index.schema import build_schema

log = logging.getLogger("hub.search")


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
        if self.path is None:
            if self._ram is None:
                raise IndexUnavailable("no index yet")
            return self._ram
        target = self.path / "current"
        try:
            return whoosh_index.open_dir(str(target))
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
