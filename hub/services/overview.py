"""Figures for "practices at a glance": where notes come from, topics over the years, projects' topics.

Every count is of the published originals the viewer may see (:func:`hub.services.catalogue.select_notes`,
hence the one visibility rule): a visitor's overview counts public notes, a member's counts more.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from hub.extensions import db
from hub.models import Note, Project, Term, note_term
from hub.services.catalogue import select_notes
from hub.services.places import province_code

YEARS_SHOWN = 8


@dataclass
class Places:
    """Where the notes come from: China's provinces by code, other countries by ISO code, and the rest."""

    provinces: Counter[str] = field(default_factory=Counter)
    countries: Counter[str] = field(default_factory=Counter)
    unplaced: int = 0
    spellings: dict[str, str] = field(default_factory=dict)  # code -> how most of its notes write it

    @property
    def total(self) -> int:
        """Return how many notes were counted."""
        return sum(self.provinces.values()) + sum(self.countries.values()) + self.unplaced


@dataclass(frozen=True)
class TopicRow:
    """One topic's notes per year."""

    term: Term
    per_year: dict[int, int]
    total: int


@dataclass(frozen=True)
class TopicYears:
    """Notes per topic over the years: the years shown (oldest first) and the busiest topics."""

    years: list[int]
    rows: list[TopicRow]


@dataclass(frozen=True)
class ProjectTopics:
    """A project, how many notes it has, and the topics it writes on most."""

    project: Project
    total: int
    topics: list[tuple[Term, int]]


def _visible_ids(viewer: Any) -> sa.Select:
    return select_notes(viewer).with_only_columns(Note.id)


def places(viewer: Any) -> Places:
    """Count the notes ``viewer`` may see by province (in China) or country (elsewhere)."""
    query = (sa.select(Note.province, Project.country, sa.func.count(Note.id))
             .select_from(Note).outerjoin(Project, Note.project_id == Project.id)
             .where(Note.id.in_(_visible_ids(viewer))).group_by(Note.province, Project.country))
    found, written = Places(), Counter()
    for province, country, count in db.session.execute(query):
        code = province_code(province)
        if code is not None:
            found.provinces[code] += count
            written[(code, province)] += count
        elif country and country.upper() != "CN":
            found.countries[country.upper()] += count
        else:
            found.unplaced += count
    for (code, province), _count in sorted(written.items(), key=lambda item: item[1]):
        found.spellings[code] = province  # the most used spelling comes last, and stays
    return found


def topics_by_year(viewer: Any, *, top: int = 8) -> TopicYears:
    """Return the ``top`` topics by notes ``viewer`` may see, with their notes per publication year."""
    year = sa.extract("year", Note.published_at)
    query = (sa.select(note_term.c.term_id, year, sa.func.count(Note.id))
             .select_from(Note).join(note_term, note_term.c.note_id == Note.id)
             .join(Term, Term.id == note_term.c.term_id)
             .where(Term.kind == "topic", Note.id.in_(_visible_ids(viewer))).group_by(note_term.c.term_id, year))
    counts: dict[int, Counter[int]] = {}
    for term_id, when, count in db.session.execute(query):
        counts.setdefault(term_id, Counter())[int(when)] += count
    if not counts:
        return TopicYears(years=[], rows=[])
    all_years = sorted({y for per_year in counts.values() for y in per_year})
    years = list(range(max(all_years[0], all_years[-1] - YEARS_SHOWN + 1), all_years[-1] + 1))
    busiest = sorted(counts, key=lambda t: (-sum(counts[t].values()), t))[:top]
    terms = {t.id: t for t in db.session.scalars(sa.select(Term).where(Term.id.in_(busiest)))}
    rows = [TopicRow(terms[t], {y: counts[t][y] for y in years}, sum(counts[t].values())) for t in busiest]
    return TopicYears(years=years, rows=rows)


def project_topics(viewer: Any, *, top: int = 5) -> list[ProjectTopics]:
    """Return each project with notes ``viewer`` may see, its note count and its ``top`` topics."""
    visible = _visible_ids(viewer)
    totals = dict(db.session.execute(sa.select(Note.project_id, sa.func.count(Note.id)).where(
        Note.id.in_(visible), Note.project_id.is_not(None)).group_by(Note.project_id)).tuples().all())
    pairs = db.session.execute(
        sa.select(Note.project_id, note_term.c.term_id, sa.func.count(Note.id))
        .join(note_term, note_term.c.note_id == Note.id).join(Term, Term.id == note_term.c.term_id)
        .where(Term.kind == "topic", Note.id.in_(visible), Note.project_id.is_not(None))
        .group_by(Note.project_id, note_term.c.term_id))
    per_project: dict[int, list[tuple[int, int]]] = {}
    for project_id, term_id, count in pairs:
        per_project.setdefault(project_id, []).append((term_id, count))
    terms = {t.id: t for t in db.session.scalars(sa.select(Term).where(Term.kind == "topic"))}
    projects = db.session.scalars(sa.select(Project).where(Project.id.in_(list(totals))).order_by(Project.slug))
    return [ProjectTopics(p, totals[p.id], [(terms[t], n) for t, n in
                                            sorted(per_project.get(p.id, []), key=lambda x: (-x[1], terms[x[0]].slug))[:top]])
            for p in projects]
