"""The search page: results with highlights, facets and active filters."""
from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, render_template, request
from flask_babel import get_locale
from flask_login import current_user

import search_index
from blueprints.web.search_params import QUERY_LENGTH, SearchParams
from blueprints.web.access import public
from hub.services import facets as facet_labels
from hub.services import translations

bp = Blueprint("search", __name__, template_folder="templates")


@bp.get("/search")
@public
def search():
    """Search notes in both languages; say so when the index is unavailable."""
    params = SearchParams.from_args(request.args)
    typed = str(request.args.get("q", ""))
    if len(typed) > QUERY_LENGTH:  # never search for less than was asked: give the words back with the limit
        return render_template("search/search.html", params=replace(params, text=typed), result=None,
                               unavailable=False, too_long=True)
    if not params.filters and search_index.asks_nothing(params.text):  # spaces or a lone quote: the blank form
        return render_template("search/search.html", params=params, result=None, unavailable=False)
    try:
        result = search_index.search(params.text, viewer=current_user, filters=params.filters, page=params.page,
                                     per_page=params.per_page, sort=params.sort, expand=params.expand)
    except search_index.SearchUnavailable:
        return render_template("search/search.html", params=params, result=None, unavailable=True), 503
    return render_template("search/search.html", params=params, result=result, unavailable=False,
                           labels=facet_labels.labels(result.facets),
                           versions=translations.published_versions(result.notes, locale=str(get_locale()),
                                                                    viewer=current_user))

