"""Views of the federation endpoints: thin wrappers over hub.federation.

Every endpoint is public (other servers have no session here); who may read what is decided
by HTTP Signatures inside hub.federation, never by cookies. Answers are JSON, in the
content types ActivityPub servers expect.
"""
from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, abort, current_app, request

from hub.extensions import csrf
from hub.federation import actor, conversation, inbox, outbox, topics
from hub.federation.signatures import raw_target_from_environ
from hub.models.federation import PeerHub
from blueprints.web.access import public
from blueprints.web.common import conditional
from blueprints.web.errors import answers_json

bp = Blueprint("federation", __name__)

MAX_PAGE = 10_000


def _json(document: Any, *, status: int = 200, content_type: str = actor.ACTIVITY_JSON,
          private: bool = False, carries_notes: bool = False) -> Response:
    """Answer with a JSON document (Chinese kept readable).

    What carries notes' text (``carries_notes``: a note, its activity, the outbox) is never served from a cache
    unchecked: a note redacted, taken down or deleted here must not be handed out by a shared cache for
    another minute. Caches keep it and ask each time (``no-cache``); its ETag, a hash of the answer, makes
    the question cheap (304 while nothing changed). The hub's own documents (actor, keys) may wait a minute.
    """
    response = Response(json.dumps(document, ensure_ascii=False), status=status, content_type=content_type)
    response.headers["Vary"] = "Accept, Signature, Signature-Input"
    response.headers["Cache-Control"] = ("private, no-store" if private else "no-cache" if carries_notes
                                         else "public, max-age=60")
    response.headers["Access-Control-Allow-Origin"] = "*"
    if carries_notes and not private and status == 200:
        response = conditional(response)
    return response


def _reader() -> PeerHub | None:
    """Return the partner hub that signed this GET (None: anyone); 403 for a blocked hub.

    A signature that cannot be verified gets 401 with the reason, never the anonymous view.
    """
    path, query = raw_target_from_environ(request.environ)
    try:
        return outbox.signed_by(method=request.method, path=path, query=query, headers=dict(request.headers))
    except outbox.Forbidden:
        abort(403)
    except outbox.Unverified as unverified:
        abort(_json({"error": unverified.reason}, status=unverified.status, content_type="application/json",
                    private=True))


@bp.get("/.well-known/webfinger")
@public
def webfinger():
    """Answer WebFinger for the instance actor (acct:hub@host)."""
    resource = request.args.get("resource", "")
    if not resource:
        return _json({"error": "resource is required"}, status=400, content_type="application/json")
    document = actor.webfinger_document(resource) or topics.webfinger_document(resource)
    if document is None:
        return _json({"error": "not found"}, status=404, content_type="application/json")
    return _json(document, content_type="application/jrd+json")


@bp.get("/.well-known/nodeinfo")
@public
def nodeinfo_links():
    """Point to the NodeInfo 2.1 document."""
    return _json(actor.nodeinfo_links(), content_type="application/json")


@bp.get("/nodeinfo/2.1")
@public
def nodeinfo():
    """Describe the hub: software, protocols, public note count."""
    schema = 'application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.1#"'
    return _json(actor.nodeinfo_document(), content_type=schema)


@bp.get("/actor")
@public
def instance_actor():
    """Show the instance actor (a Service) with its public key."""
    return _json(actor.actor_document())


@bp.post("/inbox")
@bp.post("/actor/inbox")
@bp.post("/topics/<slug>/inbox")
@public
@csrf.exempt
def inbox_post(slug: str | None = None):
    """Take an activity from another server: check it, store it, answer 202 (the worker does the rest).

    The hub's actor and its topic actors share this one inbox: the activity says whom it is for.
    """
    try:
        inbox.check_envelope(content_type=request.content_type, content_length=request.content_length)
        body = request.stream.read(int(current_app.config["FEDERATION_MAX_ACTIVITY_BYTES"]) + 1)
        if len(body) > int(current_app.config["FEDERATION_MAX_ACTIVITY_BYTES"]):
            raise inbox.Refused(413, "too_large")
        path, query = raw_target_from_environ(request.environ)
        accepted = inbox.receive(method="POST", path=path, query=query, headers=dict(request.headers), body=body)
    except inbox.Refused as refused:
        current_app.logger.info("inbox refused a POST: %s", refused)
        document = {"error": refused.reason, **({"detail": refused.detail} if refused.detail else {})}
        return _json(document, status=refused.status, content_type="application/json", private=True)
    return _json({"status": "duplicate" if accepted.duplicate else "accepted"}, status=202,
                 content_type="application/json", private=True)


@bp.get("/outbox")
@public
@answers_json
def outbox_get():
    """List the notes this reader may see, as pages of Create activities, newest first."""
    reader = _reader()
    number = request.args.get("page", type=int)
    if number is None:
        return _json(outbox.collection(reader), private=reader is not None, carries_notes=True)
    if not 1 <= number <= MAX_PAGE:
        abort(404)
    return _json(outbox.page(number, reader), private=reader is not None, carries_notes=True)


@bp.get("/followers")
@public
def followers():
    """Show how many hubs follow this one (and which, to partner hubs)."""
    reader = _reader()
    return _json(outbox.followers(reader), private=reader is not None)


@bp.get("/ap/notes/<int:note_id>")
@public
def note_object(note_id: int):
    """Show one note as an Article, if this reader may see it."""
    reader = _reader()
    document = outbox.note_object(note_id, reader)
    if document is None:
        return _json({"error": "not found"}, status=404, content_type="application/json", carries_notes=True)
    return _json(document, private=reader is not None, carries_notes=True)


@bp.get("/ap/notes/<int:note_id>/activity")
@public
def note_activity(note_id: int):
    """Show the Create activity of one note, if this reader may see it."""
    reader = _reader()
    document = outbox.note_activity(note_id, reader)
    if document is None:
        return _json({"error": "not found"}, status=404, content_type="application/json", carries_notes=True)
    return _json(document, private=reader is not None, carries_notes=True)


@bp.get("/ap/comments/<int:comment_id>")
@public
def comment_object(comment_id: int):
    """Show a comment written here as a Note, if this reader may see its note."""
    document = outbox.comment_object(comment_id, _reader())
    if document is None:
        return _json({"error": "not found"}, status=404, content_type="application/json")
    return _json(document, private=True)


def _topic(slug: str):
    term = topics.by_slug(slug)
    if term is None:
        abort(_json({"error": "not found"}, status=404, content_type="application/json"))
    return term


@bp.get("/topics/<slug>/actor")
@public
def topic_actor(slug: str):
    """Show a topic's Group actor (followable for its public notes)."""
    return _json(topics.actor_document(_topic(slug)))


@bp.get("/topics/<slug>/outbox")
@public
def topic_outbox(slug: str):
    """List a topic's latest public notes, as its actor announced them."""
    return _json(topics.outbox_document(_topic(slug)), carries_notes=True)


@bp.get("/topics/<slug>/followers")
@public
def topic_followers(slug: str):
    """Show how many actors follow a topic."""
    return _json(topics.followers_document(_topic(slug)))


@bp.app_template_global()
def comment_origin(comment) -> dict[str, Any] | None:
    """Return a comment's place in the conversation (pseudonym, partner hub, parent), else None."""
    return conversation.origin_of(comment)


@bp.app_template_global()
def comment_origins(comments) -> dict[int, dict[str, Any] | None]:
    """Return :func:`comment_origin` of each of ``comments`` by id, read for all of them at once (a page's list)."""
    return conversation.origins_of(list(comments))


@bp.app_template_global()
def flag_hub(flag) -> str | None:
    """Return the partner hub a report came from, else None (our members' reports)."""
    return conversation.flag_origin(flag)


@bp.app_template_global()
def note_origin(note) -> dict[str, str] | None:
    """Return where a remote note came from (hub name, hub address, the note's page there), else None.

    For templates: ``{% set origin = note_origin(note) %}{% if origin %}…{% endif %}``.
    """
    if getattr(note, "origin_peer_id", None) is None:
        return None
    from hub.extensions import db

    peer = db.session.get(PeerHub, note.origin_peer_id)
    if peer is None:
        return None
    return {"name": peer.name or peer.base_url, "base_url": peer.base_url, "url": note.remote_url or ""}
