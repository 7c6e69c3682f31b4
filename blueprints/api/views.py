"""JSON endpoints; the same visibility rules as the pages (anonymous callers see public notes only)."""
from __future__ import annotations

from flask import request
from flask_babel import lazy_gettext as _l

import search_index
from blueprints.api import schemas, wire
from blueprints.api.blueprint import bp
from blueprints.api.access import reader
from blueprints.api.http import fail, load_query, respond_document
from blueprints.api.openapi import operation
from blueprints.web.search_params import SearchParams
from blueprints.web.access import public

# Built once: making a schema instance copies its declared fields, which cost as much as the dump itself.
SEARCH_QUERY = schemas.SearchQuery()
SEARCH_LIMITS = {"per_page_default": schemas.SEARCH_PER_PAGE_DEFAULT, "per_page_max": schemas.SEARCH_PER_PAGE_MAX,
                 "page_max": schemas.SEARCH_PAGE_MAX}


@bp.get("/api/v1/search")
@public
@operation(_l("Search notes in both languages (as the search page does)"), response=schemas.SearchResult,
           query=schemas.SearchQuery, problems=(400, 503), tag="search")
def search():
    """Search notes: {total, page, per_page, results: [...], facets, expansions, limits}."""
    load_query(SEARCH_QUERY)  # refuse what the lenient page reading below would quietly mend
    params = SearchParams.from_args(request.args, per_page_default=schemas.SEARCH_PER_PAGE_DEFAULT)
    try:
        result = search_index.search(params.text, viewer=reader(), filters=params.filters, page=params.page,
                                     per_page=params.per_page, sort=params.sort, expand=params.expand, load="hits")
    except search_index.SearchUnavailable:
        fail(503, code="search_unavailable")
    # Built as it goes out, not dumped through schemas.SearchResult: marshmallow visits every facet
    # value and hit field one by one, a tenth of the request. Tests hold the two to the same answer.
    document = {
        "total": result.total, "page": result.page, "per_page": result.per_page,
        "results": wire.search_hits(result.notes, result.excerpts),
        "facets": {name: [{"value": v, "count": n} for v, n in values] for name, values in result.facets.items()},
        "expansions": list(result.expansions), "limits": SEARCH_LIMITS,
    }
    return respond_document(document)
