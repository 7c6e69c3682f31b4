"""Import and export published notes as JSON Lines: one JSON object per line, one note per object.

A line holds exactly these fields (admins write them by hand or export them from another hub)::

    {"title": "…", "summary": "…", "body": "Markdown …", "language": "zh_Hans" | "en",
     "project": "chengdu-peer-centre", "topics": ["nsp", "outreach"], "tags": ["冬季"],
     "visibility": "members" | "partners" | "public", "published_at": "2024-05-01T08:30:00Z",
     "author": "小李", "source_id": "peoples-daily-1998/0417-03"}

and an export adds ``id`` and ``url`` (the note here), which an import reads only as a source.

- ``title``, ``summary``, ``body`` and ``language`` are required; ``author`` is required unless the
  importer names a default author (it never replaces an author a line names).
- ``project`` is a project's slug or name; when the key is absent the note goes to its author's
  project, and ``null`` means no project. ``topics`` are topic slugs or names; ``tags`` free words.
  With ``create_missing``, an unknown project or topic is created with the given name as its title
  and a short name derived from it (:func:`hub.services.slugs.slug_for`: pinyin for Chinese).
- ``visibility`` defaults to ``members``, the narrowest audience.
- ``published_at`` is ISO 8601; without an offset it is read as UTC; absent, it is the import time.
- ``source_id`` is the partner's own id of the note (at most 200 characters, unique in the hub; a
  line exported from another hub has none, and its ``url`` serves instead). It is stored and
  exported, and it makes importing the same file again safe: a line whose source is already in the
  hub is left as it is and counted, not imported twice. Lines without a source are all imported,
  even when two share a title and a date (photo captions often do).

Importing checks every line completely before writing anything of it, with the same cleaning as
the note editor and the same personal-data scan that guards publication. A bad line is reported
with its number and skipped. Good notes are written in batches, each note together with its first
revision and its ``note.published`` event in one transaction, so no note ever lacks its event.
Running a file with sources again after an interruption imports only what is missing.

Exporting writes the same fields back, ordered by note id, with the note's ``id`` and ``url`` here,
so export → import → export gives the same lines but for those (and the source, which then names
the first hub's note).
"""
from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload, selectinload

from hub import events
from hub.extensions import db
from hub.models.base import utcnow
from hub.models import LANGUAGES, Note, NoteRevision, NoteState, Term, Visibility, note_term
from hub.models.project import Project
from hub.models.user import Role, User
from hub.services import audit, notes, privacy, projects, screening, slugs, vocabulary
from hub.services.errors import ServiceError
from hub.services.visibility import published_for
from hub.text import html_line

FIELDS = ("title", "summary", "body", "language", "project", "topics", "tags", "visibility",
          "published_at", "author", "source_id")
EXPORT_ONLY = ("id", "url")  # what an export adds about the note here; an import reads url as a source
SOURCE_LENGTH = 200
PROJECT_NAME_LENGTH = 200  # as Project.name_zh and name_en hold a name; a created project takes the line's
TERM_NAME_LENGTH = vocabulary.NAME_LENGTH
PROGRESS_EVERY = 100  # lines or notes between two progress reports
REQUIRED = ("title", "summary", "body", "language")
VISIBILITIES = tuple(v.value for v in Visibility)
BATCH_SIZE = 500
JSON_TYPES = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "true or false",
              type(None): "null"}

Source = str | os.PathLike[str] | Iterable[str] | Iterable[bytes]
Progress = Callable[[int], None]  # told how many lines (import) or notes (export) are done


class BadLine(Exception):
    """A line that cannot be imported; the message says what is wrong and what to do."""


class AlreadyHere(Exception):
    """A line whose source is already in the hub: left as it is (importing a file again is safe)."""


class ImportInterrupted(Exception):
    """Writing a batch failed: notes of earlier batches are imported, this batch and the rest are not."""

    def __init__(self, report: ImportReport, line: int, cause: BaseException) -> None:
        # The driver's own error is short; SQLAlchemy's wrapper would also print the notes' text.
        reason = f"{type(cause).__name__}: {getattr(cause, 'orig', cause)}"
        super().__init__(f"stopped at line {line} ({reason}); the {report.imported} notes before it are "
                         "imported; run the same file again to import the rest (lines without source_id "
                         f"would be imported again: run only lines {line} on)")
        self.report = report
        self.line = line


@dataclass(frozen=True)
class Problem:
    """Why one line of the file was skipped."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class ImportReport:
    """What an import did (or, in a dry run, would do)."""

    dry_run: bool = False
    imported: int = 0
    already: int = 0  # lines whose source_id is already in the hub: left as they are
    problems: list[Problem] = field(default_factory=list)
    created_projects: list[str] = field(default_factory=list)
    created_topics: list[str] = field(default_factory=list)
    titles: dict[str, str] = field(default_factory=dict)  # a created project's or topic's slug -> name

    @property
    def skipped(self) -> int:
        """Return how many lines were skipped."""
        return len(self.problems)


@dataclass(frozen=True)
class HubViewer:
    """The hub itself reading with a moderator's rights: the admin export sees every published note.

    The command line has no signed-in person, and a new hub may have no admin account yet, so the
    admin export reads as this viewer instead of borrowing a real account. It still goes through
    ``published_for``, so drafts, submissions and tombstones stay out.
    """

    id: int | None = None
    role: str = Role.MODERATOR.value
    is_authenticated: bool = True
    is_active: bool = True


HUB_VIEWER = HubViewer()


@dataclass
class _Row:
    """One valid line, ready to be written."""

    line: int
    data: notes.NoteInput
    author_id: int
    project_slug: str | None
    topic_slugs: list[str]
    published_at: dt.datetime
    source_id: str | None


# --- export -------------------------------------------------------------------------------------

def note_to_record(note: Note, *, url: str) -> dict[str, Any]:
    """Return the wire form of a published note: its ``id`` and ``url`` here, then the fields of :data:`FIELDS`."""
    return {
        "id": note.id,
        "url": url,
        "title": note.title,
        "summary": note.summary,
        "body": note.body,
        "language": note.language,
        "project": note.project.slug if note.project else None,
        "topics": [term.slug for term in note.topics],
        "tags": list(note.tags or []),
        "visibility": note.visibility,
        "published_at": _format_time(note.published_at),
        "author": note.author.pseudonym if note.author else None,
        "source_id": note.source_id,
    }


def _format_time(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() + "Z" if moment else None


def count_exported(*, viewer: Any = None) -> int:
    """Return how many notes :func:`export_notes` would write for ``viewer``."""
    return db.session.scalar(sa.select(sa.func.count(Note.id)).where(published_for(viewer))) or 0


def export_notes(target: str | os.PathLike[str] | IO[str], *, viewer: Any = None,
                 progress: Progress | None = None) -> int:
    """Write every published note ``viewer`` may read to ``target`` as JSON Lines; return how many.

    The default viewer is an anonymous visitor (public notes only); pass :data:`HUB_VIEWER` for the
    admin export of every visibility. A path is written through a private (0600) temporary file
    and renamed at the end, so a failed export never leaves a truncated file behind. ``progress``
    is told how many notes are written, every few hundred and at the end.
    """
    if not isinstance(target, (str, os.PathLike)):
        return _write_records(target, viewer, progress)
    path = Path(target)
    partial = path.with_name(path.name + ".part")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with open(descriptor, "w", encoding="utf-8", newline="\n") as stream:
            written = _write_records(stream, viewer, progress)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, path)
    return written


def _write_records(stream: IO[str], viewer: Any, progress: Progress | None) -> int:
    written = 0
    base = str(current_app.config["BASE_URL"]).rstrip("/")
    for note in _published_notes(viewer):
        record = note_to_record(note, url=f"{base}/notes/{note.id}")  # the route of the note's page
        stream.write(json.dumps(record, ensure_ascii=False) + "\n")
        written += 1
        if progress is not None and written % PROGRESS_EVERY == 0:
            progress(written)
    if progress is not None:
        progress(written)
    return written


def _published_notes(viewer: Any) -> Iterator[Note]:
    """Yield the published notes ``viewer`` may read, by id, a few hundred rows at a time."""
    query = (sa.select(Note).where(published_for(viewer)).order_by(Note.id)
             .options(joinedload(Note.author), joinedload(Note.project), selectinload(Note.terms))
             .execution_options(yield_per=BATCH_SIZE))
    yield from db.session.scalars(query)


# --- import -------------------------------------------------------------------------------------

def import_notes(source: Source, *, create_missing: bool = False, default_author: str | None = None,
                 allow_personal_data: bool = False, dry_run: bool = False,
                 batch_size: int = BATCH_SIZE, progress: Progress | None = None) -> ImportReport:
    """Import the notes of a JSON Lines file (a path or an iterable of lines) as published notes.

    ``create_missing`` creates unknown projects and topics (titled with the given name, under a
    derived short name) instead of skipping their lines; ``dry_run`` checks every line and writes
    nothing; ``progress`` is told how many lines are read, every hundred lines and at the end.
    Raises :class:`ServiceError` for an unknown ``default_author`` and :class:`ImportInterrupted`
    when writing fails midway.
    """
    importer = _Importer(create_missing=create_missing, allow_personal_data=allow_personal_data,
                         dry_run=dry_run, batch_size=batch_size, progress=progress)
    importer.use_default_author(default_author)
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as stream:
            return importer.run(stream)
    return importer.run(source)


class _Importer:
    """The state of one import: what the hub knows, the batch being built, and the report."""

    def __init__(self, *, create_missing: bool, allow_personal_data: bool, dry_run: bool,
                 batch_size: int, progress: Progress | None) -> None:
        self.create_missing, self.allow_personal_data = create_missing, allow_personal_data
        self.progress = progress
        self.batch_size = max(1, batch_size)
        self.report = ImportReport(dry_run=dry_run)
        self.now = utcnow()
        self.default_author: str | None = None
        self.batch: list[_Row] = []
        # Everything a line may refer to is loaded once, so checking a line costs no query.
        self.authors = {name: (uid, slug) for uid, name, slug in db.session.execute(
            sa.select(User.id, User.pseudonym, Project.slug).outerjoin(Project, User.project_id == Project.id))}
        self.projects: dict[str, int] = {slug: pid for slug, pid in db.session.execute(
            sa.select(Project.slug, Project.id))}
        self.topics: dict[str, int] = {slug: tid for slug, tid in db.session.execute(
            sa.select(Term.slug, Term.id).where(Term.kind == "topic"))}
        # Names lead to short names too: "People's Daily 1998" finds the project created from it.
        self.project_names: dict[str, str] = {name: slug for slug, zh, en in db.session.execute(
            sa.select(Project.slug, Project.name_zh, Project.name_en)) for name in (zh, en)}
        self.topic_names: dict[str, str] = {name: slug for slug, zh, en in db.session.execute(
            sa.select(Term.slug, Term.name_zh, Term.name_en).where(Term.kind == "topic")) for name in (zh, en)}
        self.sensitive_words = screening.sensitive_words()
        self.sources: dict[str, int] = {source: note_id for source, note_id in db.session.execute(
            sa.select(Note.source_id, Note.id).where(Note.source_id.is_not(None)))}
        self.source_lines: dict[str, int] = {}

    def use_default_author(self, pseudonym: str | None) -> None:
        """Give lines without an author to ``pseudonym``, which must name an account."""
        if pseudonym and pseudonym.strip() not in self.authors:
            raise ServiceError(f"No account has the pseudonym {pseudonym!r}.", field="default_author")
        self.default_author = pseudonym.strip() if pseudonym else None

    def run(self, lines: Iterable[str] | Iterable[bytes]) -> ImportReport:
        """Check each line, queue the good ones and write them batch by batch."""
        number = 0
        for number, raw in enumerate(lines, start=1):
            if self.progress is not None and number % PROGRESS_EVERY == 0:
                self.progress(number)
            try:
                row = self._parse(number, raw)
            except AlreadyHere:
                self.report.already += 1
                continue
            except BadLine as problem:
                self.report.problems.append(Problem(number, str(problem)))
                continue
            if row is not None:
                self.batch.append(row)
            if len(self.batch) >= self.batch_size:
                self._write_batch()
        self._write_batch()
        if self.progress is not None:
            self.progress(number)
        return self.report

    # --- checking one line ------------------------------------------------------------------

    def _parse(self, number: int, raw: str | bytes) -> _Row | None:
        text = _decode(raw, first=number == 1)
        if not text.strip():
            return None  # blank lines (e.g. a trailing newline) carry nothing
        record = _load_object(text)
        _check_shape(record)
        source_id = self._source(number, record)
        data = _clean(record)
        published_at = _parse_time(record.get("published_at"), default=self.now)
        author_id, author_project = self._author(record.get("author"))
        project_slug = self._project(record["project"] if "project" in record else author_project)
        topic_slugs = self._topics(record.get("topics") or [])
        self._check_privacy(data)
        if source_id is not None:
            self.source_lines[source_id] = number
        return _Row(number, data, author_id, project_slug, topic_slugs, published_at, source_id)

    def _source(self, number: int, record: dict[str, Any]) -> str | None:
        """Return the line's source (its source_id, else the url of the hub it was exported from)."""
        source = (record.get("source_id") or record.get("url") or "").strip()
        if not source:
            return None
        if len(source) > SOURCE_LENGTH:
            raise BadLine(f"source_id is longer than {SOURCE_LENGTH} characters")
        if source in self.sources:
            raise AlreadyHere(self.sources[source])
        if source in self.source_lines:
            raise BadLine(f"repeats the source_id of line {self.source_lines[source]}")
        return source

    def _author(self, name: str | None) -> tuple[int, str | None]:
        name = (name or "").strip() or self.default_author
        if not name:
            raise BadLine("missing author; give the pseudonym of an account, or pass --default-author")
        if name not in self.authors:
            raise BadLine(f"unknown author {name!r}; create the account first (authors are pseudonyms)")
        return self.authors[name]

    def _project(self, value: str | None) -> str | None:
        value = (value or "").strip()
        if not value:
            return None
        return self._resolve(value, known=self.projects, names=self.project_names, kind="project",
                             pattern=projects.SLUG_RE, min_length=3, longest=PROJECT_NAME_LENGTH,
                             missing=f"unknown project {value!r}; create it first, or pass --create-missing")

    def _topics(self, values: list[str]) -> list[str]:
        names = dict.fromkeys(value.strip() for value in values if value.strip())
        slugs = [self._resolve(name, known=self.topics, names=self.topic_names, kind="topic",
                               pattern=vocabulary.SLUG_RE, min_length=2, longest=TERM_NAME_LENGTH,
                               missing=f"unknown topic {name!r}; add it to the vocabulary, or pass --create-missing")
                 for name in names]
        return list(dict.fromkeys(slugs))

    def _resolve(self, value: str, *, known: dict[str, int], names: dict[str, str], kind: str, pattern: Any,
                 min_length: int, longest: int, missing: str) -> str:
        """Return the slug a line's project or topic names (its slug or its name), deriving one if allowed."""
        if value.lower() in known:
            return value.lower()
        if value in names:
            return names[value]
        if not self.create_missing:
            raise BadLine(missing)
        if len(value) > longest:  # it would be the new project's or topic's name: never a cut one
            raise BadLine(f"{kind} name {value!r} is longer than {longest} characters, the most a {kind} name has")
        lowered = value.lower()
        taken = {*known, *names.values()}
        slug = lowered if pattern.match(lowered) and lowered not in taken else slugs.slug_for(
            value, taken=taken, fallback=kind, min_length=min_length)
        names[value] = slug
        self.report.titles[slug] = value
        return slug

    def _check_privacy(self, data: notes.NoteInput) -> None:
        if self.allow_personal_data:
            return
        fields = {"title": data.title, "summary": data.summary, "body": data.body}
        findings = privacy.scan(fields, sensitive_words=self.sensitive_words)
        if findings:
            found = sorted({f"{f.label} in {f.field}" for f in findings})
            raise BadLine(f"may contain personal data ({', '.join(found)}); remove it, "
                          "or pass --allow-personal-data once you have checked it")

    # --- writing a batch --------------------------------------------------------------------

    def _write_batch(self) -> None:
        """Write the queued notes (in a dry run, only count them and what they would create)."""
        rows, self.batch = self.batch, []
        if not rows:
            return
        new_projects, new_topics = self._unknown(rows)
        if not self.report.dry_run:
            self._commit(rows, new_projects, new_topics)
        self.report.created_projects += new_projects
        self.report.created_topics += new_topics
        self.report.imported += len(rows)

    def _unknown(self, rows: list[_Row]) -> tuple[list[str], list[str]]:
        """Return the projects and topics the rows name that the hub does not have yet."""
        known_projects = {*self.projects, *self.report.created_projects}
        known_topics = {*self.topics, *self.report.created_topics}
        new_projects = [s for s in dict.fromkeys(r.project_slug for r in rows)
                        if s is not None and s not in known_projects]
        new_topics = [s for s in dict.fromkeys(s for r in rows for s in r.topic_slugs) if s not in known_topics]
        return new_projects, new_topics

    def _commit(self, rows: list[_Row], new_projects: list[str], new_topics: list[str]) -> None:
        """Write each note with its revision and event, and the batch's audit entry, in one transaction."""
        # Render before the first write: SQLite holds its write lock from the first INSERT to the commit.
        pages = [_render(row) for row in rows]
        try:
            self._create(new_projects, new_topics)
            for note_id in self._insert(rows, pages):
                events.record("note.published", subject_type="note", subject_id=note_id, source="import")
            audit.record("note.import", actor=None, notes=len(rows), first_line=rows[0].line,
                         last_line=rows[-1].line)
            db.session.commit()
        except Exception as error:
            db.session.rollback()
            raise ImportInterrupted(self.report, rows[0].line, error) from error

    def _create(self, new_projects: list[str], new_topics: list[str]) -> None:
        """Add the missing projects and topics, titled as the lines named them, until an admin renames them."""
        titles = self.report.titles
        created_projects = [Project(slug=slug, name_zh=titles[slug], name_en=titles[slug])
                            for slug in new_projects]
        created_topics = [Term(kind="topic", slug=slug, name_zh=titles[slug], name_en=titles[slug])
                          for slug in new_topics]
        db.session.add_all([*created_projects, *created_topics])
        db.session.flush()
        for project in created_projects:
            audit.record("project.create", actor=None, target=project, source="import")
            self.projects[project.slug] = project.id
        for term in created_topics:
            audit.record("term.add", actor=None, target=term, kind="topic", slug=term.slug, source="import")
            self.topics[term.slug] = term.id

    def _insert(self, rows: list[_Row], pages: list[str]) -> list[int]:
        """Insert the notes, their first revisions and topic links; return the note ids in row order."""
        # Bulk INSERTs: the ORM's bookkeeping per object would cost as much as rendering the notes (so the
        # values set body_text as Note's validator would).
        query = sa.insert(Note).returning(Note.id, sort_by_parameter_order=True)
        values = [self._note_values(row, html) for row, html in zip(rows, pages, strict=True)]
        note_ids = list(db.session.scalars(query, values))
        pairs = list(zip(rows, note_ids, strict=True))
        db.session.execute(sa.insert(NoteRevision), [_revision_values(row, note_id) for row, note_id in pairs])
        links = [{"note_id": note_id, "term_id": self.topics[slug]} for row, note_id in pairs
                 for slug in row.topic_slugs]
        if links:
            db.session.execute(sa.insert(note_term), links)
        return note_ids

    def _note_values(self, row: _Row, html: str) -> dict[str, Any]:
        data, when = row.data, row.published_at
        return {"author_id": row.author_id, "state": NoteState.PUBLISHED.value, "visibility": data.visibility,
                "project_id": self.projects[row.project_slug] if row.project_slug is not None else None,
                "language": data.language, "title": data.title, "summary": data.summary, "body": data.body,
                "body_html": html, "body_text": html_line(html), "sections": {}, "tags": data.tags, "revision_number": 1,
                "created_at": when, "updated_at": when, "published_at": when, "source_id": row.source_id}


def _render(row: _Row) -> str:
    """Return the note's sanitised HTML; render_body reads only the text, which an unsaved Note lends it."""
    return notes.render_body(Note(body=row.data.body, sections={}, language=row.data.language))


def _revision_values(row: _Row, note_id: int) -> dict[str, Any]:
    """Return revision 1, the imported text: the note's history starts where its life here does."""
    data = row.data
    return {"note_id": note_id, "number": 1, "editor_id": row.author_id, "title": data.title,
            "summary": data.summary, "body": data.body, "sections": {}, "created_at": row.published_at}


# --- checking one line: pure helpers ------------------------------------------------------------

def _decode(raw: str | bytes, *, first: bool) -> str:
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadLine("not UTF-8 text; save the file as UTF-8") from None
    text = raw.rstrip("\r\n")  # so that JSON errors point into the line, not past its end
    return text.removeprefix("\ufeff") if first else text  # editors on Windows start files with a BOM


def _load_object(text: str) -> dict[str, Any]:
    try:
        record = json.loads(text)
    except json.JSONDecodeError as error:
        raise BadLine(f"not valid JSON ({error.msg} at column {error.colno})") from None
    if not isinstance(record, dict):
        raise BadLine(f"expected a JSON object {{...}}, found {JSON_TYPES.get(type(record), 'something else')}")
    return record


def _check_shape(record: dict[str, Any]) -> None:
    """Refuse unknown fields (a misspelt field would be lost silently) and wrong types."""
    unknown = [key for key in record if key not in FIELDS and key not in EXPORT_ONLY]
    if unknown:
        raise BadLine(f"unknown field {unknown[0]!r}; a line holds only {', '.join(FIELDS)}")
    for key in (*REQUIRED, "project", "author", "visibility", "published_at", "source_id", "url"):
        if record.get(key) is not None and not isinstance(record[key], str):
            raise BadLine(f"{key} must be a string")
    for key in REQUIRED:
        if not (record.get(key) or "").strip():
            raise BadLine(f"missing {key}")
    for key in ("topics", "tags"):
        value = record.get(key)
        if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise BadLine(f"{key} must be a list of strings")


def _clean(record: dict[str, Any]) -> notes.NoteInput:
    """Check and normalise the note's text with the editor's own rules."""
    language, visibility = record["language"], record.get("visibility") or Visibility.MEMBERS.value
    if language not in LANGUAGES:
        raise BadLine(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")
    if visibility not in VISIBILITIES:
        raise BadLine(f"visibility must be one of {', '.join(VISIBILITIES)}, not {visibility!r}")
    data = notes.NoteInput(title=record["title"], summary=record["summary"], body=record["body"],
                           language=language, visibility=visibility, tags=record.get("tags") or [])
    try:
        return notes.clean(data)
    except ServiceError as error:
        raise BadLine(f"{error.field}: {error.message}") from None


def _parse_time(value: str | None, *, default: dt.datetime) -> dt.datetime:
    """Read an ISO 8601 time as naive UTC (how the hub stores times)."""
    if value is None or not value.strip():
        return default
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise BadLine(f"published_at {value!r} is not an ISO 8601 time, e.g. 2024-05-01T08:30:00Z") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment
