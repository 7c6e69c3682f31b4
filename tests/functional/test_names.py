"""Pseudonyms, note titles and tags, project and topic names with invisible or look-alike characters
are refused with a message in the person's language; nothing half-saved."""
from __future__ import annotations

import re

import pytest

from hub.extensions import db
from hub.models.note import Note, Term
from hub.models.project import Project
from hub.models.user import Role, User
from hub.services import accounts, projects, vocabulary
from hub.services.errors import ServiceError
from hub.text_safety import skeleton
from tests.helpers import count, login, post_form

RLO = "\u202e"
ZWSP = "\u200b"
SIGNUP = {"username": "newbie", "email": "", "password": "long enough pw", "confirm": "long enough pw"}
EDITOR = {"summary": "A summary.", "body": "Body text.", "language": "en", "visibility": "members", "place": "",
          "province": "", "tags": "", "context": "", "what_we_did": "", "what_happened": "", "what_we_learned": "",
          "do_differently": ""}


def _signup(client, admin, pseudonym: str, *, lang: str = "en"):
    token = accounts.create_invitation(by=admin, role=Role.MEMBER, project=None)[1]
    return post_form(client, f"/invite/{token}?lang={lang}", {**SIGNUP, "pseudonym": pseudonym})


def _field_error(html: str) -> str:
    match = re.search(r'class="error"[^>]*>([^<]+)<', html)
    assert match, "no field error on the page"
    return match.group(1)


@pytest.mark.parametrize("pseudonym", [f"小{RLO}李", f"Lee{ZWSP}", "\u2067同伴\u2069", f"小李{ZWSP}{ZWSP}"])
def test_signup_refuses_a_pseudonym_with_invisible_or_direction_characters(client, admin, pseudonym):
    response = _signup(client, admin, pseudonym)
    assert response.status_code == 200
    assert "invisible or direction-changing characters" in _field_error(response.get_data(as_text=True))
    assert accounts.find_by_login("newbie") is None


def test_signup_refusal_is_explained_in_chinese(client, admin):
    response = _signup(client, admin, f"小{RLO}李", lang="zh_Hans")
    assert "看不见的字符" in _field_error(response.get_data(as_text=True))
    assert accounts.find_by_login("newbie") is None


def test_signup_refuses_a_pseudonym_that_draws_nothing(client, admin):
    response = _signup(client, admin, "\u2800\u2800\u2800")
    assert "Use visible characters" in _field_error(response.get_data(as_text=True))
    assert accounts.find_by_login("newbie") is None


@pytest.mark.parametrize("look_alike", ["Mаry P", "Ｍａｒｙ Ｐ", "MaryP".replace("P", " Р")])  # Cyrillic а, full width, Р
def test_signup_refuses_a_pseudonym_that_looks_like_a_taken_one(client, admin, member, look_alike):
    assert member.pseudonym == "Mary P"
    response = _signup(client, admin, look_alike)
    assert "looks the same as one that is taken" in _field_error(response.get_data(as_text=True))
    assert accounts.find_by_login("newbie") is None


def test_signup_stores_the_normalised_pseudonym_and_its_skeleton(client, admin):
    response = _signup(client, admin, "Zoe\u0308 同伴")
    assert response.status_code == 302
    user = accounts.find_by_login("newbie")
    assert user.pseudonym == "Zoë 同伴" and user.pseudonym_skeleton == skeleton("Zoë 同伴")


def test_profile_refuses_another_persons_look_alike_and_invisible_characters(client, member, make_user):
    make_user("lily", pseudonym="Lily")
    login(client, "mary")
    for pseudonym, message in [("LiIy", "looks the same"), (f"Mary{RLO} P", "invisible or direction-changing")]:
        response = post_form(client, "/account", {"pseudonym": pseudonym, "email": "", "locale": "", "timezone": "",
                                                  "bio": ""})
        assert message in _field_error(response.get_data(as_text=True))
    db.session.refresh(member)
    assert member.pseudonym == "Mary P"


def test_profile_change_keeps_the_skeleton_current(client, member):
    login(client, "mary")
    response = post_form(client, "/account", {"pseudonym": "Mаry P", "email": "", "locale": "", "timezone": "",
                                              "bio": ""})  # a look-alike of one's own pseudonym is no one else's
    assert response.status_code == 302
    response = post_form(client, "/account", {"pseudonym": "Peer Mary", "email": "", "locale": "", "timezone": "",
                                              "bio": ""})
    assert response.status_code == 302
    db.session.refresh(member)
    assert (member.pseudonym, member.pseudonym_skeleton) == ("Peer Mary", skeleton("Peer Mary"))


@pytest.mark.parametrize(("field", "value"), [("title", f"Outreach{ZWSP} notes"), ("title", f"{RLO}txet"),
                                              ("tags", f"methadone, {RLO}naloxone")])
def test_note_editor_refuses_invisible_characters_in_title_and_tags(client, login_as, contributor, field, value):
    login_as(contributor)
    response = post_form(client, "/notes/new", {**EDITOR, "title": "Outreach", field: value, "save": "1"})
    assert response.status_code == 200
    assert "invisible or direction-changing characters" in response.get_data(as_text=True)
    assert count(Note) == 0


def test_note_autosave_reports_the_refused_title(client, login_as, contributor):
    login_as(contributor)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                      client.get("/notes/new").get_data(as_text=True)).group(1)
    response = client.post("/notes/autosave", data={"csrf_token": token, **EDITOR, "title": f"a{RLO}b"})
    assert response.status_code == 400
    assert "invisible" in response.get_json()["errors"]["title"][0]
    assert count(Note) == 0


def test_project_and_topic_names_with_invisible_characters_are_refused(app, admin):
    for name_zh, name_en in [(f"成都{RLO}同伴", "Chengdu peers"), ("成都同伴", f"Chengdu{ZWSP}peers")]:
        with pytest.raises(ServiceError) as refused:
            projects.save(projects.ProjectData(slug="chengdu-peers", name_zh=name_zh, name_en=name_en), by=admin)
        assert refused.value.field in ("name_zh", "name_en")
        with pytest.raises(ServiceError):
            vocabulary.add_term(kind="topic", slug="outreach-x", name_zh=name_zh, name_en=name_en, by=admin)
    assert count(Project, Project.slug == "chengdu-peers") == 0
    assert count(Term, Term.slug == "outreach-x") == 0
    project = projects.save(projects.ProjectData(slug="chengdu-peers", name_zh="成都同伴", name_en=" Chengdu peers "),
                            by=admin)
    assert project.name_en == "Chengdu peers"


def test_users_made_by_the_admin_command_get_a_skeleton(app):
    user = accounts.create_user(accounts.NewAccount(username="cli", pseudonym="命令行", password="long enough pw"))
    db.session.commit()
    assert db.session.get(User, user.id).pseudonym_skeleton == skeleton("命令行")
