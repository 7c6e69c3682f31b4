"""Views of the "Partner hubs" page: thin wrappers over hub.federation.peers (which audits)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from blueprints.partners.forms import AddHubForm, TrustForm
from blueprints.web.access import requires
from blueprints.web.common import me
from blueprints.web.forms import ActionForm
from blueprints.web.refusals import attempt
from hub.extensions import db
from hub.federation import delivery, peers, problems
from hub.models import PeerHub

bp = Blueprint("partners", __name__, template_folder="templates")


@bp.app_template_global()
def federation_problem(problem: dict[str, Any]) -> str:
    """Return a delivery's stored problem (hub.federation.problems) in the reader's language."""
    return str(problems.explain(problem))


def _peer(peer_id: int) -> PeerHub:
    return db.session.get(PeerHub, peer_id) or abort(404)


def _act(peer_id: int, action: Callable[[], object], success: str):
    """Run a service action from a button form, flash the outcome, return to the hub's page."""
    if not ActionForm().validate_on_submit():
        abort(400)
    with attempt() as done:
        action()
    if done:
        flash(success, "info")
    return redirect(url_for("partners.detail", peer_id=peer_id) if peer_id else url_for("partners.index"))


@bp.route("/", methods=["GET", "POST"])
@requires("manage_partners")
def index():
    """List partner hubs and add one by its address."""
    form = AddHubForm()
    if form.validate_on_submit():
        with attempt(form=form) as added:
            if form.allow.data:
                peer = peers.allow(form.address.data, by=me())
                # i18n: %(hub)s is the other hub's address, e.g. https://hub-b.example.org
                flash(_("%(hub)s is on the allow-list and may now follow this hub.", hub=peer.base_url), "info")
            else:
                peer = peers.follow(form.address.data, by=me())
                # i18n: %(hub)s is the other hub's address, e.g. https://hub-b.example.org
                flash(_("Follow request sent to %(hub)s. It shows as pending until that hub accepts.",
                        hub=peer.base_url), "info")
        if added:
            return redirect(url_for("partners.detail", peer_id=peer.id))
    return render_template("partners/index.html", form=form, hubs=peers.overview(), stats=delivery.stats(),
                           action_form=ActionForm())


@bp.get("/<int:peer_id>")
@requires("manage_partners")
def detail(peer_id: int):
    """Show one hub: its states, trust, recent deliveries and the actions an admin may take."""
    peer = _peer(peer_id)
    summary = next(s for s in peers.overview() if s.peer.id == peer.id)
    return render_template("partners/detail.html", hub=summary, peer=peer, trust_form=TrustForm(trust=peer.trust),
                           deliveries=peers.recent_deliveries(peer), failed=peers.failed_activities(peer),
                           action_form=ActionForm())


@bp.post("/<int:peer_id>/trust")
@requires("manage_partners")
def trust(peer_id: int):
    """Set what happens to the hub's incoming notes."""
    peer = _peer(peer_id)
    form = TrustForm()
    if not form.validate_on_submit():
        flash(_("Choose one of the offered trust levels."), "error")
        return redirect(url_for("partners.detail", peer_id=peer_id))
    with attempt() as saved:
        peers.set_trust(peer, form.trust.data, by=me())
    if saved:
        flash(_("Trust saved."), "info")
    return redirect(url_for("partners.detail", peer_id=peer_id))


@bp.post("/<int:peer_id>/allowlist/<any(on, off):value>")
@requires("manage_partners")
def allowlist(peer_id: int, value: str):
    """Put the hub on the allow-list or take it off."""
    peer = _peer(peer_id)
    on = value == "on"
    return _act(peer_id, lambda: peers.set_partner(peer, on, by=me()),
                _("The hub is on the allow-list.") if on else _("The hub is off the allow-list."))


@bp.post("/<int:peer_id>/follow")
@requires("manage_partners")
def follow(peer_id: int):
    """Ask again to follow a known hub."""
    peer = _peer(peer_id)
    return _act(peer_id, lambda: peers.follow(peer.actor_id, by=me()), _("Follow request sent."))


@bp.post("/<int:peer_id>/unfollow")
@requires("manage_partners")
def unfollow(peer_id: int):
    """Stop following the hub."""
    peer = _peer(peer_id)
    return _act(peer_id, lambda: peers.unfollow(peer, by=me()), _("This hub no longer follows that hub."))


@bp.post("/<int:peer_id>/block")
@requires("manage_partners")
def block(peer_id: int):
    """Block the hub and hide its notes."""
    peer = _peer(peer_id)
    return _act(peer_id, lambda: peers.block(peer, by=me()),
                _("The hub is blocked. Its notes no longer appear here, and it is told that the follows between "
                  "the two hubs have ended."))


@bp.post("/<int:peer_id>/unblock")
@requires("manage_partners")
def unblock(peer_id: int):
    """Lift the block."""
    peer = _peer(peer_id)
    # i18n: after an admin unblocks a partner hub; "Follow" is the name of the button on this page
    return _act(peer_id, lambda: peers.unblock(peer, by=me()), _(
        "The block is lifted. The follows the block ended stay ended: to receive this hub's notes again, "
        "press Follow; for it to receive ours, its administrator must follow this hub again."))


@bp.post("/<int:peer_id>/follow-requests/<any(accept, reject):answer>")
@requires("manage_partners")
def follow_requests(peer_id: int, answer: str):
    """Accept or refuse the hub's request to follow this hub."""
    peer = _peer(peer_id)
    accept = answer == "accept"
    return _act(peer_id, lambda: peers.answer_follow_requests(peer, accept=accept, by=me()),
                _("The hub now follows this hub.") if accept else _("The follow request was refused."))


@bp.post("/<int:peer_id>/retry")
@requires("manage_partners")
def retry(peer_id: int):
    """Send the hub's failed deliveries again."""
    peer = _peer(peer_id)
    return _act(peer_id, lambda: peers.retry_dead_letters(peer=peer, by=me()),
                _("Failed deliveries will be sent again."))


@bp.post("/retry")
@requires("manage_partners")
def retry_all():
    """Send every failed delivery again."""
    return _act(0, lambda: peers.retry_dead_letters(by=me()), _("Failed deliveries will be sent again."))


@bp.post("/<int:peer_id>/backfill")
@requires("manage_partners")
def backfill(peer_id: int):
    """Ask the worker to read the hub's outbox again (e.g. after an outage)."""
    peer = _peer(peer_id)
    return _act(peer_id, lambda: peers.request_backfill(peer, by=me()),
                _("The hub's published notes will be read again within a minute."))

