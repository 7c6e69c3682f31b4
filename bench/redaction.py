"""Time what the privacy paths add: a moderator's redaction through a long history, and one comment's check.

Usage: .venv/bin/python bench/redaction.py [--revisions N] [--repeat N]

Builds a fresh in-memory hub, a submitted note of about 1,400 Chinese characters with a phone
number, saved N times (N revisions, default 50), then times ``moderation.redact_note`` removing the number
(which also cuts it out of every revision) and ``screening.screen`` on a short comment holding a
phone number and a WeChat ID (the check each posted comment goes through).
"""
from __future__ import annotations

import argparse
import tempfile
import time

from hub import create_app
from hub.config import TestConfig
from hub.extensions import db
from hub.models.user import Role
from hub.services import accounts, moderation, notes, screening

PARAGRAPH = "我们在城中村开展外展，每周两次，发放针具和纳洛酮，并陪同同伴去门诊。" * 20
NUMBER = "联系电话 138 1234 5678。"
COMMENT = "我们也试过，可以打 138 1234 5678 找我，微信 peer_cd85。" * 3


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--revisions", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=200)
    options = parser.parse_args()
    config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    config.update(INSTANCE_PATH=tempfile.mkdtemp(), SQLALCHEMY_DATABASE_URI="sqlite://")
    app = create_app(config)
    with app.app_context():
        db.create_all()
        author = accounts.create_user(accounts.NewAccount("lee", "小李", "long enough password"), role=Role.CONTRIBUTOR)
        moderator = accounts.create_user(accounts.NewAccount("mod", "山风", "long enough password"), role=Role.MODERATOR)
        db.session.commit()
        body = f"{PARAGRAPH}\n\n{NUMBER}\n\n{PARAGRAPH}"
        note = notes.create_draft(author=author, data=notes.NoteInput(title="外展", summary="摘要", body=body))
        notes.submit(note, by=author, confirm_privacy=True)
        for number in range(options.revisions - 1):
            notes.save(note, by=author, data=notes.NoteInput(title="外展", summary="摘要", body=f"{body}\n\n第{number}次修改。"))
        start = time.perf_counter()
        purged = moderation.redact_note(note, by=moderator, fields={"title": "外展", "summary": "摘要",
                                                                    "body": body.replace(NUMBER, "")}).revisions
        print(f"redact a {len(body)}-character note: {purged} of {len(note.revisions) - 1} earlier revisions "
              f"purged in {time.perf_counter() - start:.2f} s")
        start = time.perf_counter()
        for _ in range(options.repeat):
            screening.screen({"comment": COMMENT})
        print(f"check one {len(COMMENT)}-character comment: {(time.perf_counter() - start) / options.repeat * 1000:.2f} ms")


if __name__ == "__main__":
    main()
