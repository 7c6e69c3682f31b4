"""Human names for facet values (topic slugs, project slugs, languages, origins)."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from hub.extensions import db
from hub.models import Term
from hub.models.project import Project

FACET_TITLES = {
    "topic": _l("Topic"), "project": _l("Project"),
    # i18n: search filter title: the province or region a note is about
    "province": _l("Place"),
    "language": _l("Language"),
    # i18n: search filter title: the people a note is about (e.g. people who inject drugs, sex workers)
    "population": _l("Population"),
    # i18n: search filter title: the year a note was published
    "year": _l("Year"),
    # i18n: search filter title: whether a note was written on this hub or came from a partner hub
    "origin": _l("Origin"),
}
# i18n: search facet "Origin": notes written on this hub, or received from a partner hub
ORIGINS = {"local": _l("This hub"), "remote": _l("A partner hub")}
LANGUAGES = {"zh_Hans": "中文", "en": "English"}


def labels(facets: dict[str, list[tuple[str, int]]], *, locale: str | None = None) -> dict[str, dict[str, str]]:
    """Return display names for every value appearing in ``facets``, in ``locale`` (the reader's language)."""
    locale = locale or str(get_locale())
    wanted = {name: [value for value, _count in values] for name, values in facets.items()}
    names: dict[str, dict[str, str]] = {name: {v: v for v in values} for name, values in wanted.items()}
    for kind in ("topic", "population"):
        slugs = wanted.get(kind) or []
        if slugs:
            rows = db.session.scalars(sa.select(Term).where(Term.kind == kind, Term.slug.in_(slugs)))
            names[kind].update({t.slug: t.name(locale) for t in rows})
    if wanted.get("project"):
        rows = db.session.scalars(sa.select(Project).where(Project.slug.in_(wanted["project"])))
        names["project"].update({p.slug: p.name(locale) for p in rows})
    names.setdefault("language", {}).update({k: v for k, v in LANGUAGES.items()})
    names.setdefault("origin", {}).update({k: str(v) for k, v in ORIGINS.items()})
    return names
