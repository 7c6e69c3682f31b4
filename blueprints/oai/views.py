"""OAI-PMH 2.0 at ``/oai``: the six verbs, ``oai_dc``, sets per topic and project, resumption tokens.

Harvesters see the records of :mod:`hub.services.harvest`: public originals written here, and
persistent deleted records of notes that stopped being public. Datestamps are UTC with second
granularity (``YYYY-MM-DDThh:mm:ssZ``; ``from``/``until`` may also be plain days). Errors follow
the protocol: ``badVerb``, ``badArgument``, ``badResumptionToken``, ``cannotDisseminateFormat``,
``idDoesNotExist``, ``noRecordsMatch`` (the repository has sets, so ``noSetHierarchy`` never
applies, and ``noMetadataFormats`` neither: every record is in ``oai_dc``).
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from itertools import chain
from urllib.parse import unquote_to_bytes, urlsplit

from flask import Blueprint, current_app, request
from flask_babel import gettext as _
from lxml import etree

from blueprints.web.access import public
from blueprints.web.common import as_id, public_url
from blueprints.web.security import NulByte
from blueprints.web.xmltext import holds_non_xml, xml_text
from hub.extensions import csrf
from hub.models import HarvestRecord, Note
from hub.models.base import LARGEST_ID, is_row_id
from hub.services import harvest

bp = Blueprint("oai", __name__)
OAI = "http://www.openarchives.org/OAI/2.0/"
OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC = "http://purl.org/dc/elements/1.1/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
OAI_SCHEMA = "http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
OAI_DC_SCHEMA = "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"
GRANULARITY = "YYYY-MM-DDThh:mm:ssZ"
VERBS = {  # verb: (required arguments, optional arguments, exclusive argument)
    "Identify": (set(), set(), None),
    "ListMetadataFormats": (set(), {"identifier"}, None),
    "ListSets": (set(), set(), "resumptionToken"),
    "GetRecord": ({"identifier", "metadataPrefix"}, set(), None),
    "ListIdentifiers": ({"metadataPrefix"}, {"from", "until", "set"}, "resumptionToken"),
    "ListRecords": ({"metadataPrefix"}, {"from", "until", "set"}, "resumptionToken"),
}
DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SECOND_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


class OaiError(Exception):
    """A protocol error: answered as ``<error code="...">`` with a message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _element(parent, tag: str, text: str | None = None, **attributes: str):
    """Add an element; every text and attribute value of the answer passes here, through :func:`xml_text`."""
    node = etree.SubElement(parent, tag, {name: xml_text(value) for name, value in attributes.items()})
    if text is not None:
        node.text = xml_text(text)
    return node


def _identifier(note_id: int) -> str:
    return f"oai:{urlsplit(str(current_app.config['BASE_URL'])).hostname}:note/{note_id}"


def _note_id(identifier: str) -> int | None:
    """Return the note id of an identifier written as :func:`_identifier` writes it (no "01", no full-width digits)."""
    prefix = _identifier(0)[:-1]
    return as_id(identifier.removeprefix(prefix)) if identifier.startswith(prefix) else None


@bp.route("/oai", methods=["GET", "POST"])
@csrf.exempt  # harvesters POST form-encoded requests; nothing is written
@public
def endpoint():
    """Answer one OAI-PMH request."""
    args = request.form if request.method == "POST" else request.args
    root, request_node = _document()
    try:
        verb, values = _check_arguments(args)
        for name, value in values.items():
            request_node.set(name, xml_text(value))
        request_node.set("verb", verb)
        HANDLERS[verb](_element(root, f"{{{OAI}}}{verb}"), values)
    except OaiError as error:
        for child in root.findall(f"{{{OAI}}}" + "*")[2:]:
            root.remove(child)
        _add_error(root, request_node, error)
    return _answer(root)


def _document():
    """Return a new answer's root and its ``<request>`` element (the base URL, no arguments yet)."""
    root = etree.Element(f"{{{OAI}}}OAI-PMH", nsmap={None: OAI, "xsi": XSI})
    root.set(f"{{{XSI}}}schemaLocation", f"{OAI} {OAI_SCHEMA}")
    _element(root, f"{{{OAI}}}responseDate", _stamp(dt.datetime.now(dt.timezone.utc)))
    return root, _element(root, f"{{{OAI}}}request", public_url("oai.endpoint"))


def _add_error(root, request_node, error: OaiError) -> None:
    if error.code in ("badVerb", "badArgument"):
        request_node.attrib.clear()  # the protocol: only the base URL for these two
    _element(root, f"{{{OAI}}}error", error.message, code=error.code)


def _answer(root):
    body = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return current_app.response_class(body, content_type="text/xml; charset=utf-8")


def _illegal_characters_answer(_error: NulByte):
    """Answer a NUL in an argument (refused hub-wide before any view runs) as the protocol's ``badArgument``."""
    root, request_node = _document()
    _add_error(root, request_node, _illegal_characters())
    return _answer(root)


def _illegal_characters() -> OaiError:
    # i18n: an OAI-PMH argument holds a character XML cannot carry (NUL, a control character, a lone surrogate)
    return OaiError("badArgument", _("An argument holds a character that is not allowed (a control character "
                                     "or bytes that are not UTF-8, such as an unpaired surrogate)."))


bp.register_error_handler(NulByte, _illegal_characters_answer)


def _illegal(text: str) -> bool:
    """Tell whether an argument's name or value holds a character no legal argument holds.

    Werkzeug keeps bytes that are not UTF-8 (a lone surrogate sent as %ED%A0%80, a stray %FF)
    percent-quoted as they came: such a sequence counts too. Identifiers, set specs, prefixes,
    dates and tokens never hold one as text.
    """
    if holds_non_xml(text):  # control characters, surrogates, U+FFFE/U+FFFF: echoed in <request>, they would fail
        return True
    try:
        unquote_to_bytes(text).decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _check_arguments(args) -> tuple[str, dict[str, str]]:
    """Return the verb and its arguments, refusing illegal characters, repeats, strangers and missing ones."""
    if any(_illegal(text) for text in chain.from_iterable(args.items(multi=True))):
        raise _illegal_characters()
    verbs = args.getlist("verb")
    if len(verbs) != 1 or verbs[0] not in VERBS:
        raise OaiError("badVerb", _("The verb is missing, repeated or not one of the six OAI-PMH verbs."))
    verb = verbs[0]
    required, optional, exclusive = VERBS[verb]
    names = [k for k in args.keys() if k != "verb"]
    if any(len(args.getlist(k)) > 1 for k in names):
        raise OaiError("badArgument", _("An argument is repeated."))
    values = {k: args[k] for k in names}
    if exclusive and exclusive in values:
        if len(values) > 1:
            raise OaiError("badArgument", _("resumptionToken cannot be combined with other arguments."))
        return verb, values
    unknown = set(values) - required - optional
    if unknown:
        raise OaiError("badArgument", _("%(verb)s does not take the argument %(name)s.", verb=verb,
                                        name=sorted(unknown)[0]))
    missing = required - set(values)
    if missing:
        raise OaiError("badArgument", _("%(verb)s needs the argument %(name)s.", verb=verb, name=sorted(missing)[0]))
    return verb, values


# --- the verbs ----------------------------------------------------------------------------------

def identify(node, _values: dict[str, str]) -> None:
    """Describe the repository."""
    config = current_app.config
    host = urlsplit(str(config["BASE_URL"])).hostname
    _element(node, f"{{{OAI}}}repositoryName", config["SITE_NAME"] or _("Practice Exchange Hub"))
    _element(node, f"{{{OAI}}}baseURL", public_url("oai.endpoint"))
    _element(node, f"{{{OAI}}}protocolVersion", "2.0")
    _element(node, f"{{{OAI}}}adminEmail", config["OAI_ADMIN_EMAIL"] or f"admin@{host}")
    earliest = harvest.earliest() or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    _element(node, f"{{{OAI}}}earliestDatestamp", _stamp(earliest))
    _element(node, f"{{{OAI}}}deletedRecord", "persistent")
    _element(node, f"{{{OAI}}}granularity", GRANULARITY)


def list_metadata_formats(node, values: dict[str, str]) -> None:
    """Name the one metadata format: oai_dc (for any record, when an identifier is given)."""
    if "identifier" in values:
        _record_or_fail(values["identifier"])
    fmt = _element(node, f"{{{OAI}}}metadataFormat")
    _element(fmt, f"{{{OAI}}}metadataPrefix", "oai_dc")
    _element(fmt, f"{{{OAI}}}schema", OAI_DC_SCHEMA)
    _element(fmt, f"{{{OAI}}}metadataNamespace", OAI_DC)


def list_sets(node, values: dict[str, str]) -> None:
    """List the sets: topics and projects, named in both languages (all in one answer)."""
    if "resumptionToken" in values:
        raise OaiError("badResumptionToken", _("This repository lists every set at once; there is nothing to resume."))
    for spec, name in harvest.set_names():
        item = _element(node, f"{{{OAI}}}set")
        _element(item, f"{{{OAI}}}setSpec", spec)
        _element(item, f"{{{OAI}}}setName", name)


def get_record(node, values: dict[str, str]) -> None:
    """Give one record, in oai_dc."""
    _check_prefix(values["metadataPrefix"])
    found = _record_or_fail(values["identifier"])
    _write_record(node, found, harvest.notes_of([found]).get(found.note_id), with_metadata=True)


def list_identifiers(node, values: dict[str, str]) -> None:
    """List record headers, a page at a time."""
    _list(node, values, with_metadata=False)


def list_records(node, values: dict[str, str]) -> None:
    """List records with their oai_dc metadata, a page at a time."""
    _list(node, values, with_metadata=True)


HANDLERS = {"Identify": identify, "ListMetadataFormats": list_metadata_formats, "ListSets": list_sets,
            "GetRecord": get_record, "ListIdentifiers": list_identifiers, "ListRecords": list_records}


def _check_prefix(prefix: str) -> None:
    if prefix != "oai_dc":
        raise OaiError("cannotDisseminateFormat", _("Records are available in oai_dc only."))


def _record_or_fail(identifier: str) -> HarvestRecord:
    note_id = _note_id(identifier)
    found = harvest.record(note_id) if note_id is not None else None
    if found is None:
        raise OaiError("idDoesNotExist", _("No record has this identifier."))
    return found


def _list(node, values: dict[str, str], *, with_metadata: bool) -> None:
    if "resumptionToken" in values:
        state = _read_token(values["resumptionToken"])
    else:
        _check_prefix(values["metadataPrefix"])
        state = {"from": values.get("from"), "until": values.get("until"), "set": values.get("set"),
                 "after": None, "cursor": 0}
    try:
        selection = _selection(state)
    except OaiError as error:  # dates this repository never wrote into a token
        if error.code != "badArgument" or "resumptionToken" not in values:
            raise
        raise _bad_token() from None
    after = (dt.datetime.fromisoformat(state["after"][0]), state["after"][1]) if state["after"] else None
    size = int(current_app.config["OAI_PAGE_SIZE"])
    found, total = harvest.records(selection, after=after, limit=size)
    if not found:
        raise OaiError("noRecordsMatch", _("No records match these arguments."))
    notes = harvest.notes_of(found)  # also for headers: a note changed since its record is deleted in both
    for item in found:
        _write_record(node, item, notes.get(item.note_id), with_metadata=with_metadata)
    shown = state["cursor"] + len(found)
    attributes = {"completeListSize": str(total), "cursor": str(state["cursor"])}
    if shown < total:
        last = found[-1]
        token = _write_token({**state, "after": [last.datestamp.isoformat(), last.note_id], "cursor": shown})
        _element(node, f"{{{OAI}}}resumptionToken", token, **attributes)
    elif state["cursor"]:
        _element(node, f"{{{OAI}}}resumptionToken", None, **attributes)  # the last page: an empty token


def _selection(state: dict) -> harvest.Selection:
    since, until = _moment(state["from"], end=False), _moment(state["until"], end=True)
    if since and until and bool(DAY_RE.match(state["from"])) != bool(DAY_RE.match(state["until"])):
        raise OaiError("badArgument", _("from and until must have the same granularity."))
    if since and until and since > until:
        raise OaiError("badArgument", _("from is later than until."))
    spec = state["set"]
    if spec is not None and spec not in dict(harvest.set_names()):
        raise OaiError("noRecordsMatch", _("No records match these arguments."))
    return harvest.Selection(since=since, until=until, set_spec=spec)


def _moment(value: str | None, *, end: bool) -> dt.datetime | None:
    """Read a UTC datestamp of either granularity (a day's end for ``until``)."""
    if value is None:
        return None
    try:
        if DAY_RE.match(value):
            day = dt.datetime.strptime(value, "%Y-%m-%d")
            return day + dt.timedelta(days=1, seconds=-1) if end else day
        if SECOND_RE.match(value):
            return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        pass
    raise OaiError("badArgument", _("Dates are YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ (UTC)."))


def _write_token(state: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode().rstrip("=")


def _read_token(token: str) -> dict:
    """Read a token :func:`_write_token` wrote; anything else is a badResumptionToken."""
    try:
        state = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(state, dict) or set(state) != {"from", "until", "set", "after", "cursor"}:
            raise ValueError("not a token")
        if state["after"] is not None:
            moment, note_id = state["after"]  # a list of two, or the unpacking raises
            if dt.datetime.fromisoformat(moment).tzinfo is not None or not is_row_id(note_id):
                raise ValueError("not a token")  # datestamps are naive UTC, ids those of rows
        if type(state["cursor"]) is not int or not 0 <= state["cursor"] <= LARGEST_ID:
            raise ValueError("not a token")  # how many records came before: never negative, never 1e308
        for key in ("from", "until", "set"):
            if state[key] is not None and not isinstance(state[key], str):
                raise ValueError("not a token")
        return state
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, RecursionError):
        raise _bad_token() from None


def _bad_token() -> OaiError:
    return OaiError("badResumptionToken", _("This resumptionToken is not one this repository gave."))


def _write_record(parent, item: HarvestRecord, note: Note | None, *, with_metadata: bool) -> None:
    """Write a record (or only its header); a record without a live note is deleted."""
    deleted = item.deleted or note is None
    holder = _element(parent, f"{{{OAI}}}record") if with_metadata else parent
    header = _element(holder, f"{{{OAI}}}header", **({"status": "deleted"} if deleted else {}))
    _element(header, f"{{{OAI}}}identifier", _identifier(item.note_id))
    _element(header, f"{{{OAI}}}datestamp", _stamp(item.datestamp))
    # A deleted record keeps only what the protocol asks of a header: its identifier and datestamp. The
    # sets (optional in OAI-PMH) would tell anyone what a note taken from the public was about, its
    # topic and project; a harvester that harvests by set still hears of the deletion in that set.
    for spec in [] if deleted else item.sets or []:
        _element(header, f"{{{OAI}}}setSpec", spec)
    if with_metadata and not deleted:
        _write_dc(_element(holder, f"{{{OAI}}}metadata"), note)


def _write_dc(parent, note: Note) -> None:
    """Write a note as Dublin Core: title, description, creator (the project), subjects in both languages…"""
    dc = etree.SubElement(parent, f"{{{OAI_DC}}}dc", nsmap={"oai_dc": OAI_DC, "dc": DC, "xsi": XSI})
    dc.set(f"{{{XSI}}}schemaLocation", f"{OAI_DC} {OAI_DC_SCHEMA}")
    lang = "zh-Hans" if note.language == "zh_Hans" else note.language
    xml_lang = "{http://www.w3.org/XML/1998/namespace}lang"
    _element(dc, f"{{{DC}}}title", note.title, **{xml_lang: lang})
    if note.summary:
        _element(dc, f"{{{DC}}}description", note.summary, **{xml_lang: lang})
    if note.project is not None:
        _element(dc, f"{{{DC}}}creator", note.project.name_zh, **{xml_lang: "zh-Hans"})
        _element(dc, f"{{{DC}}}creator", note.project.name_en, **{xml_lang: "en"})
    for term in note.topics:
        _element(dc, f"{{{DC}}}subject", term.name_zh, **{xml_lang: "zh-Hans"})
        _element(dc, f"{{{DC}}}subject", term.name_en, **{xml_lang: "en"})
    _element(dc, f"{{{DC}}}publisher", current_app.config["SITE_NAME"] or _("Practice Exchange Hub"))
    _element(dc, f"{{{DC}}}date", note.published_at.strftime("%Y-%m-%d"))
    _element(dc, f"{{{DC}}}type", "Text")
    _element(dc, f"{{{DC}}}format", "text/html")
    _element(dc, f"{{{DC}}}identifier", public_url("notes.detail", note_id=note.id))
    _element(dc, f"{{{DC}}}language", lang)
    _element(dc, f"{{{DC}}}rights", current_app.config["OAI_RIGHTS"])
