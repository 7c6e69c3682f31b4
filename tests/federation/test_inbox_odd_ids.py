"""Ids of our notes and comments named in a partner's activity are read as the hub writes them, or not at all.

A superscript digit ("²": ``str.isdigit`` takes it, ``int`` refuses it), a full-width one, a leading zero or a
number beyond the id column names nothing here: the activity is answered like any other naming no note or
comment of ours, never with a 500 (and never with a query PostgreSQL refuses as out of range).
"""
from __future__ import annotations

import pytest

from hub.extensions import db
from hub.models import Mark, Note

ODD = ["²", "１", "01", "99999999999999999999", "2147483648"]


@pytest.fixture
def partner(make_peer):
    return make_peer(trust="moderate")


@pytest.mark.parametrize("number", ODD)
def test_a_like_of_a_note_by_an_odd_number_is_answered_and_marks_nothing(app, client, partner, publish, number):
    publish("public")
    response = partner.post(client, partner.activity("Like", f"http://hub.test/ap/notes/{number}",
                                                     to=["http://hub.test/actor"]))
    assert response.status_code < 500
    assert db.session.query(Mark).count() == 0


@pytest.mark.parametrize("number", ODD)
def test_an_offer_for_a_note_by_an_odd_number_is_answered_and_stores_nothing(app, client, partner, publish, number):
    publish("public")
    before = db.session.query(Note).count()
    article = {"id": f"{partner.base}/ap/notes/7", "type": "Article", "attributedTo": partner.actor_id,
               "name": "x", "content": "<p>x</p>", "contentMap": {"en": "<p>x</p>"}}
    response = partner.post(client, partner.activity("Offer", article, target=f"http://hub.test/ap/notes/{number}",
                                                     to=["http://hub.test/actor"]))
    assert response.status_code < 500
    assert db.session.query(Note).count() == before


@pytest.mark.parametrize("number", ODD)
def test_a_delete_of_a_comment_by_an_odd_number_is_answered(app, client, partner, publish, number):
    publish("public")
    response = partner.post(client, partner.activity("Delete", {"id": f"http://hub.test/ap/comments/{number}",
                                                                "type": "Tombstone"}, to=["http://hub.test/actor"]))
    assert response.status_code < 500
