"""Notes, projects and vocabulary as plain mappings for the wire (dumped through :mod:`blueprints.api.schemas`).

Every link is built from ``BASE_URL`` (:func:`blueprints.web.common.public_url`).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from blueprints.web.common import public_id_urls, public_url, utc
from search_index import Hit
from hub.models import SECTIONS, Note
from hub.models import Project as ProjectModel
from hub.models import Term as TermModel
from hub.services import attachments as attachment_service
from hub.services import notes as note_service
from hub.services import translations as translation_service


def names(zh: str, en: str) -> dict[str, str]:
    """Return a name in both languages, each falling back to the other."""
    return {"zh_Hans": zh or en, "en": en or zh}


def term_ref(term: TermModel) -> dict[str, Any]:
    """Return a topic or population as notes carry it."""
    return {"slug": term.slug, "name": names(term.name_zh, term.name_en)}


def term(term: TermModel) -> dict[str, Any]:
    """Return a topic or population with the API list of its notes."""
    return {**term_ref(term), "notes_url": public_url("api.notes", **{term.kind: term.slug})}


def project_ref(project: ProjectModel | None) -> dict[str, Any] | None:
    """Return the project a note belongs to."""
    if project is None:
        return None
    return {"slug": project.slug, "name": names(project.name_zh, project.name_en)}


def project(project: ProjectModel) -> dict[str, Any]:
    """Return a project with its page and the API list of its notes."""
    return {**project_ref(project), "description": names(project.description_zh, project.description_en),
            "city": project.city, "province": project.province, "country": project.country,
            "url": public_url("main.project", slug=project.slug),
            "notes_url": public_url("api.notes", project=project.slug)}


def note_summary(note: Note) -> dict[str, Any]:
    """Return a published note as lists show it."""
    return {
        "id": note.id, "url": public_url("notes.detail", note_id=note.id),
        "api_url": public_url("api.note", note_id=note.id),
        "title": note.title, "summary": note.summary, "language": note.language, "visibility": note.visibility,
        "project": project_ref(note.project),
        "topics": [term_ref(t) for t in note.topics], "populations": [term_ref(t) for t in note.populations],
        "place": note.place, "province": note.province, "tags": list(note.tags or []),
        "author": note.author.pseudonym if note.author else None,
        "origin": "remote" if note.is_remote else "local", "translation_of": note.translation_of_id,
        "published_at": utc(note.published_at), "updated_at": utc(note.updated_at),
        "changed_at": utc(note.changed_at),
    }


def removed_note(note: Note) -> dict[str, Any]:
    """Return a note gone for the caller as the removed list shows it: its id and when it went, nothing else."""
    return {"id": note.id, "removed_at": utc(note.changed_at)}


def note_detail(note: Note, *, translations: list[Note]) -> dict[str, Any]:
    """Return a published note with its text, sections, ``translations`` and attachments."""
    sections = note.sections or {}
    return {
        **note_summary(note), "body": note.body, "body_html": note.body_html,
        "sections": [{"key": key, "title": str(note_service.SECTION_TITLES[key]), "text": sections[key]}
                     for key in SECTIONS if sections.get(key)],
        "translations": [{"id": t.id, "language": t.language, "title": t.title,
                          "url": public_url("notes.detail", note_id=t.id), "api_url": public_url("api.note", note_id=t.id),
                          "outdated": translation_service.is_outdated(t)} for t in translations],
        "attachments": [{"id": a.id, "filename": a.filename, "content_type": a.content_type, "size": a.size,
                         "url": public_url("notes.attachment", note_id=note.id, attachment_id=a.id)}
                        for a in attachment_service.shown(note, None)],  # a reader's list: none waiting for review
    }


def search_hits(notes: Sequence[Note | Hit], excerpts: dict[int, str]) -> list[dict[str, Any]]:
    """Return search results as their JSON goes out (what ``schemas.SearchHit`` would dump of each)."""
    page_url, api_url = public_id_urls("notes.detail", "note_id"), public_id_urls("api.note", "note_id")
    hits = []
    for note in notes:
        published = utc(note.published_at)
        hits.append({"id": note.id, "title": note.title, "summary": note.summary, "language": note.language,
                     "url": page_url(note.id), "api_url": api_url(note.id), "excerpt_html": excerpts.get(note.id, ""),
                     "published_at": published.isoformat() if published else None})
    return hits

