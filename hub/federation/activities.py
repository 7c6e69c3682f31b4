"""Notes as ActivityPub ``Article`` objects, the activities that carry them, and the way back.

Wire formats are explicit dictionaries built field by field: nothing here serialises an ORM
object wholesale, so a new column never leaks to partner hubs by accident. Parsing runs the
other way: an incoming ``Article`` becomes a :class:`RemoteArticle` with every field checked,
length-capped and its HTML sanitised again, whatever the sending hub claims to have done.

Who receives what (addressing) is decided here too, in one place:

- ``public`` notes are addressed to ``as:Public`` and our followers;
- ``partners`` notes are addressed to allow-listed partner hubs only, each delivery naming just
  its own recipient so partners do not learn of one another;
- ``members`` notes are never addressed to anyone (:class:`NotFederated`).
"""
from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from hub import text
from hub.extensions import db
from hub.federation import actor
from hub.federation.http import request_host
from hub.models import LANGUAGES, Note, Visibility
from hub.services import notes
from hub.services.visibility import OUTBOX, goes_with_original, may_read
from hub.text_safety import cut, without_unsafe

NS = "https://practice-exchange-hub.example/ns#"
CONTEXT: list[Any] = [
    actor.AS_CONTEXT,
    {"peh": NS, "Hashtag": "as:Hashtag"},
]
PUBLIC_ALIASES = frozenset({actor.PUBLIC, "as:Public", "Public"})
# A partner's text is bounded to what our columns and pages hold, where a local author would be refused: the
# sender cannot be asked to shorten it, and refusing the whole note would lose more. The full text stays at
# its origin (the note links there); cuts never split a character cluster (hub.text_safety.cut).
MAX_TITLE, MAX_SUMMARY, MAX_PLACE, MAX_HTML = 200, 600, 100, 200_000
TAG_LENGTH = 40  # as a local note's tag (hub.services.notes.TAG_LENGTH)
MAX_TERMS = 20

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class NotFederated(Exception):
    """The note must not leave this hub (members-only, unpublished, remote, or a translation)."""


class InvalidActivity(ValueError):
    """An incoming activity or object is malformed or claims an origin it does not have."""


class Unwanted(InvalidActivity):
    """An incoming activity the hub does not act on: ``reason`` (a code) and ``detail`` (a sentence)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


# --- small helpers -------------------------------------------------------------------------

def language_tag(language: str) -> str:
    """Return the BCP 47 tag of a hub language code (``zh_Hans`` -> ``zh-Hans``)."""
    return language.replace("_", "-")


def hub_language(tag: str) -> str | None:
    """Return the hub language code for a BCP 47 tag, or None when the hub has no such language."""
    tag = tag.strip().lower().replace("_", "-")
    if tag.startswith("zh"):
        return "zh_Hans"
    if tag == "en" or tag.startswith("en-"):
        return "en"
    return None


def iso(moment: dt.datetime | None, *, precise: bool = False) -> str | None:
    """Format a stored (naive UTC) time as an ISO 8601 UTC timestamp (with milliseconds if ``precise``)."""
    if moment is None:
        return None
    return moment.isoformat(timespec="milliseconds" if precise else "seconds") + "Z"


def parse_time(value: Any) -> dt.datetime | None:
    """Parse an ISO 8601 timestamp into a naive UTC datetime; None when absent or unreadable."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is not None:
            moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    except (ValueError, OverflowError):  # OverflowError: an offset that moves it past year 1 or 9999
        return None
    return moment


def same_host(*urls: str) -> bool:
    """Tell whether every URL is an http(s) URL on one and the same host (and port)."""
    try:
        hosts = {request_host(u) for u in urls if _is_http(u)}
    except (ValueError, UnicodeError):
        return False
    return len(hosts) == 1 and all(_is_http(u) for u in urls)


def _is_http(url: Any) -> bool:
    return isinstance(url, str) and urlsplit(url).scheme in ("http", "https") and bool(urlsplit(url).hostname)


def id_of(value: Any) -> str | None:
    """Return the id of a reference that may be a URL string or an object with an ``id``."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return value["id"]
    return None


# What carries text (notes, comments, translations). A stored copy of one, sent or received, keeps only
# what names its object: the text lives in the note or comment, where a correction, a moderator's
# redaction or a Delete reaches it; a verbatim copy would outlive all three.
CONTENT_TYPES = frozenset({"Create", "Update", "Announce", "Offer"})


def object_named_only(activity: dict[str, Any]) -> dict[str, Any]:
    """Return ``activity`` with an object that carries text cut down to its id and type; the rest stays."""
    obj = activity.get("object")
    if activity.get("type") not in CONTENT_TYPES or not isinstance(obj, dict) or not set(obj) - {"id", "type"}:
        return activity
    return {**activity, "object": {"id": id_of(obj), "type": obj.get("type")}}


def addressed(activity: dict[str, Any]) -> set[str]:
    """Return every id an activity or object is addressed to (to, cc, audience)."""
    found: set[str] = set()
    for key in ("to", "cc", "audience"):
        value = activity.get(key)
        for item in value if isinstance(value, list) else [value]:
            ref = id_of(item)
            if ref:
                found.add(ref)
    return found


def sanitize_html(source: str) -> str:
    """Sanitise HTML from a partner hub with the hub's allow-list, minus images.

    A partner's image would tell its server which of our readers read what (see hub.text).
    """
    return text.sanitize_html(cut(source, MAX_HTML), images=False)  # a broken tag at the end is dropped


# --- notes to Articles -----------------------------------------------------------------

def check_federated(note: Note) -> None:
    """Raise NotFederated unless the outbox's audience may read ``note`` (a local, published, public or partners original)."""
    if not may_read(note, OUTBOX):
        raise NotFederated("only published public or partners notes written here are federated")


def addressing(note: Note, *, recipients: list[str] | None = None) -> dict[str, list[str]]:
    """Return ``to``/``cc`` for ``note``: the public and our followers, or the named partner hubs."""
    if note.visibility == Visibility.PUBLIC.value:
        return {"to": [actor.PUBLIC], "cc": [actor.followers_url()]}
    if note.visibility == Visibility.PARTNERS.value:
        return {"to": sorted(set(recipients or [])), "cc": []}
    raise NotFederated("members notes never leave the hub")


def _language_versions(note: Note) -> list[Note]:
    """Return the note and its published translations that reach at least the note's audience."""
    versions = [note]
    seen = {note.language}
    for translation in note.translations:
        if translation.language not in seen and goes_with_original(translation, note):
            versions.append(translation)
            seen.add(translation.language)
    return versions


def _hashtag(slug: str, label: str) -> dict[str, str]:
    return {"type": "Hashtag", "name": "#" + label.replace(" ", "_"), "href": f"{actor.base_url()}/notes?topic={slug}"}


def mark_totals(note: Note) -> dict[str, int]:
    """Return a note's marks as every hub sees them: our members' plus one per partner hub."""
    return {kind: total["count"] for kind, total in notes.mark_totals(note).items()}


def summary_html(summary: str) -> str:
    """Return a note's plain-text summary as the HTML that ActivityStreams' ``summary`` holds.

    Sent raw, "a<b and c>d" or "<b>" would be read as markup by other servers and by our own
    inbound ``_summary()``, and their text lost; escaped, every reader gets the text back exactly.
    """
    return html.escape(summary, quote=False)


def note_to_article(note: Note, *, recipients: list[str] | None = None) -> dict[str, Any]:
    """Map a local published note (and its translations) to an ActivityStreams Article."""
    check_federated(note)
    versions = _language_versions(note)
    article: dict[str, Any] = {
        "@context": CONTEXT,
        "id": actor.note_object_id(note.id),
        "type": "Article",
        "attributedTo": actor.actor_id(),
        **addressing(note, recipients=recipients),
        "name": note.title,
        "nameMap": {language_tag(v.language): v.title for v in versions},
        "summary": summary_html(note.summary),
        "summaryMap": {language_tag(v.language): summary_html(v.summary) for v in versions},
        "content": note.body_html,
        "contentMap": {language_tag(v.language): v.body_html for v in versions},
        "mediaType": "text/html",
        "url": actor.note_page_url(note.id),
        "published": iso(note.published_at),
        "updated": iso(note.updated_at),
        "tag": [_hashtag(t.slug, t.name_en or t.slug) for t in note.topics],
        "peh:visibility": note.visibility,
        "peh:topics": [t.slug for t in note.topics],
        "peh:populations": [t.slug for t in note.populations],
        "peh:tags": list(note.tags or []),
        "peh:place": note.place,
        "peh:province": note.province,
        "peh:authorPseudonym": note.author.pseudonym if note.author else "",
        "peh:marks": mark_totals(note),
    }
    if note.project is not None:
        article["peh:project"] = {"peh:slug": note.project.slug,
                                  "nameMap": {"zh-Hans": note.project.name_zh, "en": note.project.name_en}}
    return article


def tombstone(note_id: int, *, deleted: dt.datetime | None = None) -> dict[str, Any]:
    """Return the Tombstone that replaces a deleted or unpublished note."""
    return {"id": actor.note_object_id(note_id), "type": "Tombstone", "formerType": "Article",
            "deleted": iso(deleted or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None), precise=True)}


# --- activities ----------------------------------------------------------------------------

def _activity(kind: str, activity_id: str, obj: Any, *, to: list[str], cc: list[str] | None = None,
              published: dt.datetime | None = None) -> dict[str, Any]:
    activity = {"@context": CONTEXT, "id": activity_id, "type": kind, "actor": actor.actor_id(),
                "to": to, "cc": cc or [], "object": obj}
    if published is not None:
        # Milliseconds: a partner compares these times to tell a late activity from a newer one.
        activity["published"] = iso(published, precise=True)
    return activity


def create(article: dict[str, Any], *, activity_id: str, at: dt.datetime | None = None) -> dict[str, Any]:
    """Wrap an Article in a Create, addressed like the Article; ``at`` is when it was (re)published."""
    obj = {k: v for k, v in article.items() if k != "@context"}
    return _activity("Create", activity_id, obj, to=article["to"], cc=article["cc"],
                     published=at or parse_time(article.get("published")))


def update(article: dict[str, Any], *, activity_id: str, at: dt.datetime | None = None) -> dict[str, Any]:
    """Wrap a changed Article in an Update; ``at`` is when the change was made."""
    obj = {k: v for k, v in article.items() if k != "@context"}
    return _activity("Update", activity_id, obj, to=article["to"], cc=article["cc"], published=at)


def delete(note_id: int, *, activity_id: str, to: list[str], at: dt.datetime | None = None) -> dict[str, Any]:
    """Say that a note is gone (deleted or taken down here): Delete with a Tombstone."""
    at = at or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    return _activity("Delete", activity_id, tombstone(note_id, deleted=at), to=to, published=at)


def follow(peer_actor_id: str, *, activity_id: str) -> dict[str, Any]:
    """Ask a hub to let this hub follow it."""
    return _activity("Follow", activity_id, peer_actor_id, to=[peer_actor_id])


def accept(follow_activity: dict[str, Any], *, activity_id: str) -> dict[str, Any]:
    """Accept a hub's Follow of this hub."""
    follower = id_of(follow_activity.get("actor")) or ""
    return _activity("Accept", activity_id, _follow_reference(follow_activity), to=[follower])


def reject(follow_activity: dict[str, Any], *, activity_id: str) -> dict[str, Any]:
    """Refuse a hub's Follow of this hub."""
    follower = id_of(follow_activity.get("actor")) or ""
    return _activity("Reject", activity_id, _follow_reference(follow_activity), to=[follower])


def undo_follow(peer_actor_id: str, *, follow_id: str, activity_id: str) -> dict[str, Any]:
    """Stop following a hub."""
    inner = {"id": follow_id, "type": "Follow", "actor": actor.actor_id(), "object": peer_actor_id}
    return _activity("Undo", activity_id, inner, to=[peer_actor_id])


def _follow_reference(follow_activity: dict[str, Any]) -> dict[str, Any]:
    """Echo the essential fields of a Follow (some servers match on the embedded object)."""
    return {"id": follow_activity.get("id"), "type": "Follow", "actor": id_of(follow_activity.get("actor")),
            "object": id_of(follow_activity.get("object"))}


# --- Articles from partner hubs ------------------------------------------------------------

@dataclass
class LanguageVersion:
    """Another language version of an incoming Article (a translation made at the origin)."""

    language: str
    title: str
    summary: str
    content_html: str

    @property
    def text(self) -> str:
        """Return the plain text of the content."""
        return text.html_text(self.content_html)


@dataclass
class RemoteArticle:
    """An incoming Article, validated, capped and sanitised, ready to become a remote note."""

    object_id: str
    url: str
    language: str
    title: str
    summary: str
    content_html: str
    visibility: str
    place: str = ""
    province: str = ""
    topics: list[str] = field(default_factory=list)
    populations: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    author_pseudonym: str = ""
    published: dt.datetime | None = None
    updated: dt.datetime | None = None
    versions: list[LanguageVersion] = field(default_factory=list)

    @property
    def text(self) -> str:
        """Return the plain text of the content (search and the privacy check read this)."""
        return text.html_text(self.content_html)


def _string(value: Any, limit: int) -> str:
    """Return a text field of a partner's object, without the characters our own forms refuse in names
    (controls, bidi overrides, invisible ones: see hub.text_safety), stripped and cut to ``limit``."""
    return cut(without_unsafe(value).strip(), limit) if isinstance(value, str) else ""


_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


def _pick_language(obj: dict[str, Any]) -> tuple[str, str | None]:
    """Return (hub language, BCP 47 key in the maps) of the version to store; the first one wins."""
    content_map = obj.get("contentMap")
    if isinstance(content_map, dict):
        for key, value in content_map.items():
            language = hub_language(key) if isinstance(key, str) else None
            if language in LANGUAGES and isinstance(value, str):
                return language, key
    content = obj.get("content") if isinstance(obj.get("content"), str) else ""
    return ("zh_Hans" if _HAN.search(content[:2000]) else "en"), None


def _mapped(obj: dict[str, Any], name: str, key: str | None) -> Any:
    values = obj.get(name + "Map")
    if key and isinstance(values, dict) and isinstance(values.get(key), str):
        return values[key]
    return obj.get(name)


def _slugs(value: Any) -> list[str]:
    items = value if isinstance(value, list) else []
    valid = [s for s in items[:10 * MAX_TERMS] if isinstance(s, str) and _SLUG.match(s)]
    return list(dict.fromkeys(valid))[:MAX_TERMS]


def _tags(value: Any) -> list[str]:
    items = value if isinstance(value, list) else []
    tags = [cut(re.sub(r"\s+", " ", _string(t, 200).lstrip("#")), TAG_LENGTH) for t in items[:MAX_TERMS]
            if isinstance(t, str)]
    return [t for t in dict.fromkeys(tags) if t][:10]


def _summary(value: Any) -> str:
    return _string(text.html_text(sanitize_html(_string(value, MAX_HTML))), MAX_SUMMARY)


def _other_versions(obj: dict[str, Any], chosen: str) -> list[LanguageVersion]:
    """Return the language versions other than ``chosen``, one per hub language."""
    content_map = obj.get("contentMap")
    versions: dict[str, LanguageVersion] = {}
    for key, value in (content_map.items() if isinstance(content_map, dict) else []):
        language = hub_language(key) if isinstance(key, str) else None
        if language in LANGUAGES and language != chosen and language not in versions and isinstance(value, str):
            versions[language] = LanguageVersion(language, _string(_mapped(obj, "name", key), MAX_TITLE),
                                                 _summary(_mapped(obj, "summary", key)), sanitize_html(value))
    return list(versions.values())


def parse_article(obj: Any, *, actor_id: str) -> RemoteArticle:
    """Validate an incoming Article sent by ``actor_id`` and return its sanitised fields."""
    if not isinstance(obj, dict) or obj.get("type") != "Article":
        raise InvalidActivity("only Article objects are accepted")
    object_id = obj.get("id")
    # 480, not 500: translations are stored under the id plus "#zh-Hans" in a 500-character column.
    if not isinstance(object_id, str) or len(object_id) > 480 or not same_host(object_id, actor_id):
        raise InvalidActivity("the Article's id must be on the sending hub's host")
    attributed = id_of(obj.get("attributedTo"))
    if attributed is not None and not same_host(attributed, actor_id):
        raise InvalidActivity("the Article is attributed to another host")
    url = id_of(obj.get("url")) if not isinstance(obj.get("url"), list) else None
    language, key = _pick_language(obj)
    content = _mapped(obj, "content", key)
    visibility = Visibility.PUBLIC.value if addressed(obj) & PUBLIC_ALIASES else Visibility.PARTNERS.value
    return RemoteArticle(
        object_id=object_id,
        # The "original page" link readers follow: on the sender's own host, or the object's id.
        url=url if url and len(url) <= 500 and same_host(url, actor_id) else object_id,
        language=language,
        title=_string(_mapped(obj, "name", key), MAX_TITLE),
        summary=_summary(_mapped(obj, "summary", key)),
        content_html=sanitize_html(content if isinstance(content, str) else ""),
        visibility=visibility,
        place=_string(obj.get("peh:place"), MAX_PLACE),
        province=_string(obj.get("peh:province"), MAX_PLACE),
        topics=_slugs(obj.get("peh:topics")),
        populations=_slugs(obj.get("peh:populations")),
        tags=_tags(obj.get("peh:tags")),
        author_pseudonym=_string(obj.get("peh:authorPseudonym"), 60),
        published=parse_time(obj.get("published")),
        updated=parse_time(obj.get("updated")),
        versions=_other_versions(obj, language),
    )
