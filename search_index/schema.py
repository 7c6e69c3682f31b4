"""The Whoosh schema: what is indexed about a published note, and how it maps from the database.

Only published notes are ever indexed; drafts and submissions never reach the index. A
note's body is indexed but not stored: highlights are made from the database text, which is
re-read anyway to re-check visibility.
"""
from __future__ import annotations

from typing import Any

from whoosh import fields

from search_index.analysis import bilingual_analyzer
from search_index.postings import RawPositions

CURSOR_ID = "__cursor__"  # a document holding the indexer's event-log cursor, committed with the notes
# The index's format, stored in the cursor document. Bump it when analysis or the schema changes what
# an index holds: the worker then rebuilds an index of another format when it starts.
# 2: glossary concept tokens (search_index/concepts.py); 3: no characters inside longer units;
# 4: positions as uint32 (postings.RawPositions) and every segment's postings as arrays beside it;
# 5: images' alt text indexed again (hub.text.html_text); 6: contact data blanked out
# (hub.services.privacy.mask_for_index); 7: postings only in the arrays files (Whoosh's postings
# files stay empty; see search_index/postings.py); 8: a word's sub-words are the pieces of its own
# split, the word itself a term, no one-character term inside a longer word (search_index/analysis.py);
# 9: an original's document leaves out translations narrowed below its readers (indexer.document);
# 10: a glossary term that is a run of a word's units is a term of that word (清洁针具交换 holds 针具交换).
INDEX_FORMAT = 10
TEXT_FIELDS = {"title": 3.0, "summary": 2.0, "body": 1.0}  # BM25F weights: title and summary over body
FACETS = ("topic", "project", "province", "language", "population", "year", "origin")


def build_schema() -> fields.Schema:
    """Return the schema (pickled into the index: the import paths of its analyzer and of
    ``postings.RawPositions`` must stay stable)."""
    analyzer = bilingual_analyzer()
    return fields.Schema(
        id=fields.ID(stored=True, unique=True),
        kind=fields.ID(),  # "note", or "meta" for the cursor document
        cursor=fields.NUMERIC(stored=True, bits=64),
        format=fields.NUMERIC(stored=True),
        database=fields.STORED(),  # the cursor document's: see search_index.indexer.Meta
        event=fields.STORED(),
        title=_text(analyzer, TEXT_FIELDS["title"]),
        summary=_text(analyzer, TEXT_FIELDS["summary"]),
        body=_text(analyzer, TEXT_FIELDS["body"]),
        visibility=fields.ID(stored=True),
        topic=fields.KEYWORD(commas=True, sortable=True),
        population=fields.KEYWORD(commas=True, sortable=True),
        project=fields.ID(sortable=True),
        province=fields.ID(sortable=True),
        language=fields.ID(sortable=True),
        year=fields.ID(sortable=True),
        origin=fields.ID(sortable=True),
        published=fields.DATETIME(sortable=True),
    )


def _text(analyzer, boost: float) -> fields.TEXT:
    """Return a text field with positions (for phrases) stored as uint32, which numpy reads directly."""
    field = fields.TEXT(analyzer=analyzer, field_boost=boost, phrase=True)
    field.format = RawPositions(field_boost=boost)
    return field


def note_document(note: Any, *, body_text: str, versions: list[tuple[Any, str]] = ()) -> dict[str, Any]:
    """Return the fields to index for a published note and its published translations (one entry per note)."""
    published = note.published_at or note.updated_at
    return {
        "id": str(note.id),
        "kind": "note",
        "title": "\n".join([note.title, *(v.title for v, _text in versions)]),
        "summary": "\n".join([note.summary, *(v.summary for v, _text in versions)]),
        "body": "\n".join([body_text, *(text for _v, text in versions)]),
        "visibility": note.visibility,
        "topic": ",".join(t.slug for t in note.topics),
        "population": ",".join(t.slug for t in note.populations),
        "project": note.project.slug if note.project else "",
        "province": note.province or "",
        "language": note.language,
        "year": str(published.year),
        "origin": "remote" if note.origin_peer_id else "local",
        "published": published,
    }
