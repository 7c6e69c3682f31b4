"""The API's wire formats and query parameters, as marshmallow schemas.

These schemas are the contract: responses are dumped through them (only declared fields ever
leave, from the plain mappings of :mod:`blueprints.api.wire`), query strings are loaded through
them, and the OpenAPI document is generated from them (:mod:`blueprints.api.openapi`).
"""
from __future__ import annotations

import datetime as dt

from marshmallow import EXCLUDE, Schema, fields, validate

from flask_babel import lazy_gettext as _l

from hub.models import LANGUAGES, SECTIONS, Visibility
from hub.models.base import LARGEST_ID
from hub.services.catalogue import ORDERS

# What today's search endpoint does with numbers beyond these: it reads them as the limit.
SEARCH_PER_PAGE_DEFAULT, SEARCH_PER_PAGE_MAX, SEARCH_PAGE_MAX = 10, 50, 1000
LIST_PER_PAGE_DEFAULT, LIST_PER_PAGE_MAX = 20, 50
MAX_ID = LARGEST_ID  # ids the database's int4 columns can hold; a larger one is simply not found


class Names(Schema):
    """A name in each of the hub's languages."""

    zh_Hans = fields.String(required=True)
    en = fields.String(required=True)


class TermRef(Schema):
    """A word of the vocabulary (topic or population)."""

    slug = fields.String(required=True)
    name = fields.Nested(Names, required=True)


class Term(TermRef):
    """A topic or population, with the API list of its notes."""

    notes_url = fields.Url(required=True)


class ProjectRef(Schema):
    """The project a note belongs to."""

    slug = fields.String(required=True)
    name = fields.Nested(Names, required=True)


class Project(ProjectRef):
    """A project of this hub."""

    description = fields.Nested(Names, required=True)
    city = fields.String(required=True)
    province = fields.String(required=True)
    country = fields.String(required=True, metadata={"description": _l("ISO 3166-1 alpha-2, or empty")})
    url = fields.Url(required=True, metadata={"description": _l("The project's page")})
    notes_url = fields.Url(required=True)


class NoteSummary(Schema):
    """A published note as lists show it."""

    id = fields.Integer(required=True)
    url = fields.Url(required=True, metadata={"description": _l("The note's page")})
    api_url = fields.Url(required=True)
    title = fields.String(required=True)
    summary = fields.String(required=True)
    language = fields.String(required=True, validate=validate.OneOf(LANGUAGES))
    visibility = fields.String(required=True, validate=validate.OneOf([v.value for v in Visibility]))
    project = fields.Nested(ProjectRef, required=True, allow_none=True)
    topics = fields.List(fields.Nested(TermRef), required=True)
    populations = fields.List(fields.Nested(TermRef), required=True)
    place = fields.String(required=True, metadata={"description": _l("City or county")})
    province = fields.String(required=True)
    tags = fields.List(fields.String(), required=True)
    author = fields.String(required=True, allow_none=True, metadata={"description": _l("The author's pseudonym")})
    origin = fields.String(required=True, validate=validate.OneOf(["local", "remote"]),
                           metadata={"description": _l("remote: the note came from a partner hub")})
    translation_of = fields.Integer(required=True, allow_none=True,
                                    metadata={"description": _l("The original's id when this note is a translation")})
    published_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True, metadata={
        "description": _l("When the text was last edited (for a partner hub's note: on that hub)")})
    changed_at = fields.DateTime(required=True, metadata={
        "description": _l("When this hub last changed what it shows of the note (published, edited, approved "
                          "again, a translation added or withdrawn): what order=updated and updated_since read")})


class Section(Schema):
    """One structured section of a note (Markdown)."""

    key = fields.String(required=True, validate=validate.OneOf(SECTIONS))
    title = fields.String(required=True, metadata={"description": _l("In the caller's language")})
    text = fields.String(required=True)


class TranslationRef(Schema):
    """A published translation of a note."""

    id = fields.Integer(required=True)
    language = fields.String(required=True, validate=validate.OneOf(LANGUAGES))
    title = fields.String(required=True)
    url = fields.Url(required=True)
    api_url = fields.Url(required=True)
    outdated = fields.Boolean(required=True, metadata={"description": _l("The original changed since")})


class AttachmentRef(Schema):
    """An image or PDF attached to a note."""

    id = fields.Integer(required=True)
    filename = fields.String(required=True)
    content_type = fields.String(required=True)
    size = fields.Integer(required=True)
    url = fields.Url(required=True, metadata={
        "description": _l("Served to whoever may read the note: anyone for public notes, signed-in readers "
                          "otherwise")})


class NoteDetail(NoteSummary):
    """A published note with its text, sections, translations and attachments."""

    body = fields.String(required=True, metadata={"description": _l("Markdown")})
    body_html = fields.String(required=True, metadata={"description": _l("Sanitised HTML of the body and sections")})
    sections = fields.List(fields.Nested(Section), required=True)
    translations = fields.List(fields.Nested(TranslationRef), required=True)
    attachments = fields.List(fields.Nested(AttachmentRef), required=True)


class ListLimits(Schema):
    """How many notes a page of a list may hold."""

    per_page_default = fields.Integer(required=True)
    per_page_max = fields.Integer(required=True, metadata={"description": _l("Larger per_page values are read as this")})


class Page(Schema):
    """What every page of a list says beside its items: its size, the next page, the limits."""

    per_page = fields.Integer(required=True, metadata={"description": _l("The page size used")})
    next_cursor = fields.String(required=True, allow_none=True)
    next = fields.Url(required=True, allow_none=True)
    limits = fields.Nested(ListLimits, required=True)


class NoteList(Page):
    """One page of notes; follow ``next`` (or pass ``next_cursor`` as ``cursor``) for the next."""

    items = fields.List(fields.Nested(NoteSummary), required=True)


class RemovedNote(Schema):
    """A note the caller could read and may no longer: its id and when it went, nothing else."""

    id = fields.Integer(required=True)
    removed_at = fields.DateTime(required=True, metadata={
        "description": _l("When it stopped being readable for the caller (unpublished, withdrawn, deleted "
                          "or narrowed to fewer readers)")})


class RemovedList(Page):
    """One page of removed notes, the longest gone first; paged like the note list."""

    items = fields.List(fields.Nested(RemovedNote), required=True)


class ProjectList(Schema):
    """Every project of the hub."""

    items = fields.List(fields.Nested(Project), required=True)


class TermList(Schema):
    """Every topic, or every population."""

    items = fields.List(fields.Nested(Term), required=True)


class SearchLimits(ListLimits):
    """The bounds search applies to what it is asked."""

    page_max = fields.Integer(required=True, metadata={"description": _l("Later pages are read as this one")})


class SearchHit(Schema):
    """One search result."""

    id = fields.Integer(required=True)
    title = fields.String(required=True)
    summary = fields.String(required=True)
    language = fields.String(required=True)
    url = fields.Url(required=True)
    api_url = fields.Url(required=True)
    excerpt_html = fields.String(required=True, metadata={"description": _l("Matches marked with <mark>")})
    published_at = fields.DateTime(required=True, allow_none=True)


class FacetValue(Schema):
    """How many results have one value of a facet."""

    value = fields.String(required=True)
    count = fields.Integer(required=True)


class SearchResult(Schema):
    """One page of search results, with facet counts."""

    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    results = fields.List(fields.Nested(SearchHit), required=True)
    facets = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(FacetValue)), required=True)
    expansions = fields.List(fields.String(), required=True,
                             metadata={"description": _l("Terms of the glossary the query was widened with")})
    limits = fields.Nested(SearchLimits, required=True)


class ApiIndex(Schema):
    """Where the API's resources are."""

    notes = fields.Url(required=True)
    projects = fields.Url(required=True)
    topics = fields.Url(required=True)
    populations = fields.Url(required=True)
    search = fields.Url(required=True)
    removed_notes = fields.Url(required=True)
    openapi = fields.Url(required=True)
    docs = fields.Url(required=True)


class ParameterProblem(Schema):
    """What is wrong with one query parameter."""

    parameter = fields.String(required=True)
    detail = fields.String(required=True)


class Problem(Schema):
    """An RFC 9457 problem document, in the caller's language."""

    class Meta:
        unknown = EXCLUDE  # problem documents may carry extension members

    type = fields.String(required=True, metadata={"description": _l("A URI naming the kind of problem")})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    code = fields.String(metadata={"description": _l("A short name of the problem (e.g. bad_parameter)")})
    errors = fields.List(fields.Nested(ParameterProblem))


# --- query parameters ---------------------------------------------------------------------------

class Text(fields.String):
    """A text parameter: any characters but NUL, which the hub refuses in every request (400).

    Saying so in the document (as a ``pattern``) keeps clients and schemathesis from sending one
    as if it were valid.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.validators.insert(0, validate.Regexp(r"^[^\x00]*$"))


class Query(Schema):
    """Query parameters: unknown ones (e.g. ``lang``, which chooses the language) are ignored."""

    class Meta:
        unknown = EXCLUDE


class PageQuery(Query):
    """Paging of a list: where the previous page ended, and how many per page."""

    cursor = Text(validate=validate.Length(max=200), metadata={"description": _l("next_cursor of the previous page")})
    per_page = fields.Integer(validate=validate.Range(min=1), load_default=LIST_PER_PAGE_DEFAULT, metadata={
        "description": _l("Notes per page; values above %(max)d are read as %(max)d", max=LIST_PER_PAGE_MAX)})


class UtcTime(fields.AwareDateTime):
    """An ISO 8601 time (UTC if it names no offset), read as the database holds times: naive UTC.

    A time whose offset takes it outside the years 1–9999 in UTC (0001-01-01T00:00+00:01) is the
    earliest or the latest time, not an error of the hub's.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(default_timezone=dt.timezone.utc, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> dt.datetime:
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            return moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
        except OverflowError:
            return dt.datetime.min if moment.year == dt.MINYEAR else dt.datetime.max


class NoteListQuery(PageQuery):
    """Filters, order and paging of the note list."""

    topic = Text(validate=validate.Length(max=64), metadata={"description": _l("A topic's slug")})
    project = Text(validate=validate.Length(max=64), metadata={"description": _l("A project's slug")})
    place = Text(validate=validate.Length(max=100),
                          metadata={"description": _l("A province or a city/county, exactly as written on notes")})
    language = Text(validate=validate.OneOf(LANGUAGES))
    population = Text(validate=validate.Length(max=64), metadata={"description": _l("A population's slug")})
    updated_since = UtcTime(
        metadata={"description": _l("Notes this hub changed at or after this time (changed_at; ISO 8601, UTC "
                                    "if no offset)")})
    order = Text(validate=validate.OneOf(ORDERS), load_default="published", metadata={
        "description": _l("published: newest publication first; updated: oldest change first (for syncing)")})


class RemovedQuery(PageQuery):
    """Since when, and paging, of the removed notes."""

    since = UtcTime(metadata={
        "description": _l("Notes removed at or after this time (ISO 8601; UTC if no offset)")})


class SearchQuery(Query):
    """What search is asked for (the same parameters as the search page)."""

    q = Text(load_default="", metadata={
        "description": _l("Words, \"quoted phrases\", -exclusions; at most 500 characters are read")})
    language = Text(validate=validate.OneOf(LANGUAGES), metadata={
        "description": _l("Only notes in this language (lang= chooses the language of messages, as everywhere)")})
    topic = Text()
    project = Text()
    province = Text()
    population = Text()
    year = fields.String(validate=validate.Regexp(r"^([1-9][0-9]{3})?$"),  # empty: no filter, as on the search page
                metadata={"description": _l("Only notes published in this year, e.g. 2024")})
    origin = Text(validate=validate.OneOf(["local", "remote"]))
    sort = Text(validate=validate.OneOf(["relevance", "newest"]))
    expand = Text(validate=validate.OneOf(["0", "1"]),
                           metadata={"description": _l("0: do not widen the query with glossary terms")})
    page = fields.Integer(validate=validate.Range(min=1), metadata={
        "description": _l("Pages after %(max)d are read as page %(max)d", max=SEARCH_PAGE_MAX)})
    per_page = fields.Integer(validate=validate.Range(min=1), metadata={
        "description": _l("Default %(default)d; values above %(max)d are read as %(max)d",
                          default=SEARCH_PER_PAGE_DEFAULT, max=SEARCH_PER_PAGE_MAX)})
