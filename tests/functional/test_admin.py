"""Administration through the HTTP client: users, roles, status, invitations, projects, audit."""
from __future__ import annotations

import re

from hub.extensions import db
from hub.models.audit import AuditEntry
from hub.models.project import Project
from hub.models.user import Invitation
from tests.helpers import count, csrf_token, login, post_form


def test_admin_searches_users(client, login_as, admin, member, contributor):
    login_as(admin)
    html = client.get("/admin/users?q=小李").get_data(as_text=True)
    assert "小李" in html and "Mary P" not in html
    html = client.get("/admin/users?role=member").get_data(as_text=True)
    assert "Mary P" in html and "小李" not in html


def test_admin_changes_a_role_and_it_is_audited(client, login_as, admin, member):
    login_as(admin)
    response = post_form(client, f"/admin/users/{member.id}/role", {"role": "contributor"},
                         form_url=f"/admin/users/{member.id}")
    assert response.status_code == 302
    db.session.refresh(member)
    assert member.role == "contributor"
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "user.role"))
    assert (entry.actor_id, entry.target_id, entry.details) == (admin.id, member.id,
                                                                {"old": "member", "new": "contributor"})
    assert "user.role" in client.get("/admin/audit").get_data(as_text=True)


def test_admin_cannot_change_own_role(client, login_as, admin):
    login_as(admin)
    post_form(client, f"/admin/users/{admin.id}/role", {"role": "member"}, form_url=f"/admin/users/{admin.id}")
    db.session.refresh(admin)
    assert admin.role == "admin"


def test_unknown_role_value_is_refused(client, login_as, admin, member):
    login_as(admin)
    post_form(client, f"/admin/users/{member.id}/role", {"role": "superuser"}, form_url=f"/admin/users/{member.id}")
    db.session.refresh(member)
    assert member.role == "member"


def test_disabling_signs_the_person_out(client, login_as, admin, member, app):
    theirs = app.test_client()
    login(theirs, "mary")
    login_as(admin)
    post_form(client, f"/admin/users/{member.id}/status/disabled", {}, form_url=f"/admin/users/{member.id}")
    assert theirs.get("/account").status_code == 302
    assert count(AuditEntry, AuditEntry.action == "user.status") == 1


def test_admin_reset_link_is_shown_once_and_works(client, login_as, admin, member, app):
    login_as(admin)
    html = post_form(client, f"/admin/users/{member.id}/reset-link", {},
                     form_url=f"/admin/users/{member.id}").get_data(as_text=True)
    link = re.search(r"http://[^<\s]+/reset/[\w-]+", html).group(0)
    path = link.split("hub.test", 1)[1] if "hub.test" in link else "/" + link.split("/", 3)[3]
    assert app.test_client().get(path).status_code == 200


def test_moderator_creates_an_invitation_link(client, login_as, moderator):
    login_as(moderator)
    response = post_form(client, "/admin/invitations", {"role": "contributor", "project": "", "days": "7",
                                                        "note": "peer from Mianyang"})
    html = response.get_data(as_text=True)
    assert re.search(r"/invite/[\w-]{20,}", html)
    assert count(Invitation) == 1
    assert count(AuditEntry, AuditEntry.action == "invitation.create") == 1


def test_moderator_is_not_offered_the_admin_role(client, login_as, moderator):
    login_as(moderator)
    html = client.get("/admin/invitations").get_data(as_text=True)
    assert 'value="admin"' not in html and 'value="moderator"' not in html
    response = post_form(client, "/admin/invitations", {"role": "admin", "project": "", "days": "7"})
    assert response.status_code == 200 and count(Invitation) == 0


def test_invitation_days_out_of_range_is_explained(client, login_as, admin):
    login_as(admin)
    html = post_form(client, "/admin/invitations", {"role": "member", "project": "", "days": "500"}).get_data(as_text=True)
    assert 'aria-invalid="true"' in html and count(Invitation) == 0


def test_admin_creates_and_edits_a_project(client, login_as, admin):
    login_as(admin)
    data = {"slug": "kunming-harm-reduction", "name_zh": "昆明减害", "name_en": "Kunming Harm Reduction",
            "city": "昆明", "province": "云南", "country": "cn", "description_zh": "", "description_en": ""}
    response = post_form(client, "/admin/projects/new", data)
    assert response.headers["Location"] == "/projects/kunming-harm-reduction"
    project = db.session.scalar(db.select(Project).where(Project.slug == "kunming-harm-reduction"))
    assert project.country == "CN"
    response = post_form(client, "/admin/projects/kunming-harm-reduction/edit", {**data, "city": "曲靖"})
    db.session.refresh(project)
    assert project.city == "曲靖"


def test_duplicate_project_slug_is_explained(client, login_as, admin, project):
    login_as(admin)
    html = post_form(client, "/admin/projects/new", {"slug": project.slug, "name_en": "Again"}).get_data(as_text=True)
    assert "already uses this short name" in html


def test_project_page_lists_member_pseudonyms_only_to_members_and_only_who_allow_it(client, login_as, member,
                                                                                   project):
    assert "Mary P" not in client.get(f"/projects/{project.slug}").get_data(as_text=True)
    member.show_activity = True
    db.session.commit()
    assert "Mary P" not in client.get(f"/projects/{project.slug}").get_data(as_text=True)  # anonymous
    login_as(member)
    html = client.get(f"/projects/{project.slug}").get_data(as_text=True)
    assert "Mary P" in html
    assert "mary@example.org" not in html and ">mary<" not in html
