"""A new hub set up from the command line: its first project and its first moderator's invitation."""
from __future__ import annotations

import re

import sqlalchemy as sa

from hub.extensions import db
from hub.models import Project
from hub.models.user import Role, User
from tests.helpers import PASSWORD, count, post_form


def test_create_project_from_the_command_line(runner):
    result = runner.invoke(args=["hub", "create-project", "--slug", "chengdu-centre", "--name-zh", "成都同伴中心",
                                 "--name-en", "Chengdu Peer Centre", "--city", "成都", "--province", "四川"])
    assert result.exit_code == 0, result.output
    assert "Project chengdu-centre created." in result.output
    assert count(Project, Project.slug == "chengdu-centre") == 1
    again = runner.invoke(args=["hub", "create-project", "--slug", "Not A Slug", "--name-en", "X"])
    assert again.exit_code == 2 and "slug:" in again.output and count(Project) == 1


def test_the_first_moderator_is_invited_from_the_command_line_and_the_link_works(runner, client, admin, project):
    result = runner.invoke(args=["hub", "invite", "--role", "moderator", "--project", project.slug, "--as", "ada"])
    assert result.exit_code == 0, result.output
    link = re.search(r"^(http://hub\.test/invite/\S+)$", result.output, re.M).group(1)
    path = link.removeprefix("http://hub.test")
    response = post_form(client, path, {"username": "shan", "pseudonym": "山风", "email": "", "password": PASSWORD,
                                        "confirm": PASSWORD})
    assert response.status_code == 302
    moderator = db.session.scalar(sa.select(User).where(User.username == "shan"))
    assert (moderator.role, moderator.project_id) == (Role.MODERATOR.value, project.id)


def test_invitations_from_the_command_line_follow_the_same_rules(runner, moderator, member):
    refused = runner.invoke(args=["hub", "invite", "--role", "member", "--as", member.username])
    assert refused.exit_code == 2 and "is not an administrator or moderator" in refused.output
    too_high = runner.invoke(args=["hub", "invite", "--role", "moderator", "--as", moderator.username])
    assert too_high.exit_code == 2 and "role:" in too_high.output
    unknown = runner.invoke(args=["hub", "invite", "--project", "nowhere", "--as", moderator.username])
    assert unknown.exit_code == 2 and "create-project" in unknown.output
    assert runner.invoke(args=["hub", "invite", "--as", moderator.username]).exit_code == 0
