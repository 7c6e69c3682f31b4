"""The audit log reads in the admin's language: named actions, targets by title or kind, details in words."""
from __future__ import annotations

import re
from pathlib import Path

from blueprints.admin.audit_labels import ACTIONS
from hub.services import notes, vocabulary
from tests.page_text import VisibleText

ROOT = Path(__file__).resolve().parents[2]
# Moderators' decisions are recorded as f"note.{kind}" (hub/services/notes.py, _decide).
DECISIONS = {"note.approved", "note.changes_requested", "note.rejected", "note.unpublished"}


def _recorded_actions() -> set[str]:
    """Return every action code the code base records (string literals on audit.record lines)."""
    found = set()
    for path in [*ROOT.glob("hub/**/*.py"), *ROOT.glob("blueprints/**/*.py")]:
        for line in path.read_text(encoding="utf-8").splitlines():
            if "audit.record(" in line:
                found.update(re.findall(r'"([a-z_]+\.[a-z_]+)"', line))
    return found | DECISIONS


def test_every_recorded_action_has_a_name():
    recorded = _recorded_actions()
    assert len(recorded) > 30
    assert recorded - set(ACTIONS) == set()


def _visible(html: str) -> str:
    """Return the text a Chinese reader sees (VisibleText leaves out parts marked lang="en")."""
    page = VisibleText()
    page.feed(html)
    return " ".join(page.text)


def test_audit_log_names_actions_targets_and_details_in_chinese(client, login_as, admin, contributor, moderator):
    vocabulary.seed()
    kept = notes.create_draft(author=contributor, data=notes.NoteInput(title="门诊同伴值班", summary="摘要。", body="正文"))
    notes.submit(kept, by=contributor, confirm_privacy=True)
    gone = notes.create_draft(author=contributor, data=notes.NoteInput(title="删掉的笔记", summary="摘要。", body="正文"))
    notes.submit(gone, by=contributor, confirm_privacy=True)
    notes.withdraw(gone, by=contributor)
    notes.delete(gone, by=contributor)
    notes.approve(kept, by=moderator, visibility="members")
    login_as(admin)
    html = client.get("/admin/audit?lang=zh_Hans").get_data(as_text=True)
    text = _visible(html)
    for expected in ("笔记提交审核", "笔记已发布", "作者撤回笔记", "笔记已删除", "门诊同伴值班", f"笔记 {gone.id}",
                     "隐私检查发现：0"):
        assert expected in text, expected
    assert "删掉的笔记" not in text  # a deleted note is named by its number only
    assert not re.search(r"\b(note|user)\.[a-z_]+\b", text)  # no raw codes on the page
    assert f'href="/notes/{kept.id}"' in html


def test_a_role_change_reads_before_and_after_in_words(client, login_as, admin, member):
    from tests.helpers import post_form

    login_as(admin)
    post_form(client, f"/admin/users/{member.id}/role", {"role": "contributor"}, form_url=f"/admin/users/{member.id}")
    text = _visible(client.get("/admin/audit?lang=zh_Hans").get_data(as_text=True))
    assert "更改角色" in text and "之前：成员" in text and "之后：撰稿人" in text
    english = re.sub(r"<[^>]+>", " ", client.get("/admin/audit?lang=en").get_data(as_text=True))
    assert "Role changed" in english and "before: member" in english and member.pseudonym in english


def test_filtering_by_an_action_names_it(client, login_as, admin, member):
    login_as(admin)
    text = _visible(client.get("/admin/audit?action=user.role&lang=zh_Hans").get_data(as_text=True))
    assert "只看：更改角色" in text
