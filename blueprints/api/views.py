"""JSON endpoints; the same visibility rules as the pages (anonymous callers see public notes only)."""
from __future__ import annotations

from flask import Blueprint, jsonify, request, url_for
from flask_login import current_user

import search_index
from blueprints.web.search_params import SearchParams
from blueprints.web.access import public

bp = Blueprint("api", __name__)


@bp.get("/api/v1/search")
@public
def search():
    """Search notes: {total, page, results: [...], facets}."""
    params = SearchParams.from_args(request.args, per_page_default=10)
    if "lang" in request.args and "language" not in params.filters:
        lang = request.args["lang"]
        params.filters["language"] = "zh_Hans" if lang.startswith("zh") else lang[:10]
    try:
        result = search_index.search(params.text, viewer=current_user, filters=params.filters, page=params.page,
                                     per_page=params.per_page, sort=params.sort, expand=params.expand)
    except search_index.SearchUnavailable:
        return jsonify(error="search_unavailable", message="The search index is unavailable; try again later."), 503
    return jsonify(
        total=result.total, page=result.page, per_page=result.per_page,
        results=[{
            "id": note.id, "title": note.title, "summary": note.summary, "language": note.language,
            "url": url_for("notes.detail", note_id=note.id, _external=True),
            "excerpt_html": result.excerpts.get(note.id, ""),
            "published_at": note.published_at.isoformat() + "Z" if note.published_at else None,
        } for note in result.notes],
        facets={name: [{"value": v, "count": n} for v, n in values] for name, values in result.facets.items()},
        expansions=result.expansions)

