"""Reading search parameters from a query string, the same way for the page and the JSON API."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar
from urllib.parse import urlencode

from hub.services.facets import FACET_TITLES

FACET_PARAMS = tuple(FACET_TITLES)  # topic, project, province, language, population, year, origin
QUERY_LENGTH = 500  # characters of a search that are read (the search page refuses more; the API documents it)


@dataclass
class SearchParams:
    """What a reader asked for."""

    text: str = ""
    filters: dict[str, str] = field(default_factory=dict)
    page: int = 1
    per_page: int = 10
    sort: str = "relevance"
    expand: bool = True
    max_text: ClassVar[int] = QUERY_LENGTH  # for the search box's maxlength

    @classmethod
    def from_args(cls, args: Mapping[str, str], *, per_page_default: int = 10) -> SearchParams:
        """Read parameters, ignoring junk (a bad number is the default, an unknown sort is relevance)."""
        def number(name: str, default: int, top: int) -> int:
            try:
                return min(max(int(args.get(name, default)), 1), top)
            except (TypeError, ValueError):
                return default
        filters = {name: str(args.get(name))[:64] for name in FACET_PARAMS if args.get(name)}
        if filters.get("language") == "zh":
            filters["language"] = "zh_Hans"
        return cls(text=str(args.get("q", ""))[:QUERY_LENGTH], filters=filters, page=number("page", 1, 1000),
                   per_page=number("per_page", per_page_default, 50),
                   sort="newest" if args.get("sort") == "newest" else "relevance",
                   expand=args.get("expand", "1") != "0")

    def args(self, **changes) -> dict[str, str]:
        """Return query-string arguments for a link, with ``changes`` applied (None removes)."""
        values = {"q": self.text, **self.filters, "sort": self.sort if self.sort != "relevance" else None,
                  "expand": None if self.expand else "0"}
        values.update(changes)
        return {k: v for k, v in values.items() if v not in (None, "")}

    def href(self, **changes) -> str:
        """Return the query string of a link ("?q=…"), with ``changes`` applied (None removes).

        The search page has dozens of facet links; one ``url_for`` for the path and this for each
        query string costs far less than ``url_for`` per link.
        """
        return "?" + urlencode(self.args(**changes))
