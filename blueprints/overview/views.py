"""The overview page: three charts drawn on the server as SVG, each with its table and links into the lists."""
from __future__ import annotations

from babel import Locale
from flask import Blueprint, render_template, url_for
from flask_babel import get_locale

from blueprints.overview import charts
from blueprints.web.access import public
from blueprints.web.common import me
from hub.services import overview
from hub.services.places import BY_CODE

bp = Blueprint("overview", __name__, template_folder="templates")


@bp.get("/overview")
@public
def index():
    """Show where the notes come from, topics over the years, and what each project writes on."""
    locale = str(get_locale())
    viewer = me()
    places = overview.places(viewer)
    years = overview.topics_by_year(viewer)
    return render_template("overview/index.html", places=places, map=_map(places, locale),
                           countries=_countries(places, locale), years=years, grid=_grid(years, locale),
                           projects=_projects(overview.project_topics(viewer), locale), locale=locale,
                           provinces=BY_CODE)


def _map(places: overview.Places, locale: str) -> dict:
    links = {code: url_for("search.search", province=spelling)
             for code, spelling in places.spellings.items()}
    width, height = charts.map_size()
    return {"tiles": charts.china_tiles(dict(places.provinces), locale=locale, links=links),
            "width": width, "height": height}


def _countries(places: overview.Places, locale: str) -> list[charts.Tile]:
    territories = Locale.parse(locale).territories
    return charts.country_tiles(dict(places.countries), names={c: territories.get(c, c) for c in places.countries})


def _grid(years: overview.TopicYears, locale: str) -> list[dict]:
    top = max((n for row in years.rows for n in row.per_year.values()), default=0)
    return [{"term": row.term, "label": charts.short(row.term.name(locale), 22), "total": row.total,
             "cells": charts.year_cells(row.per_year, years.years, row=i, top=top,
                                        link=lambda year, slug=row.term.slug: url_for("search.search", topic=slug,
                                                                                        year=year))}
            for i, row in enumerate(years.rows)]


def _projects(found: list[overview.ProjectTopics], locale: str) -> list[dict]:
    return [{"project": item.project, "total": item.total, "topics": item.topics,
             "bars": charts.bars([(charts.short(term.name(locale), 42), count,
                                   url_for("search.search", project=item.project.slug, topic=term.slug))
                                  for term, count in item.topics])}
            for item in found]
