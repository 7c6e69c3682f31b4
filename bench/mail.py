"""Weekly digests for many readers: how long queueing, writing and sending them takes.

    .venv/bin/python bench/mail.py --readers 1000 --notes 500

Builds a fresh hub (SQLite in a temporary folder) with ``--readers`` members, each following two
of eight topics weekly (every tenth also a saved search), and ``--notes`` notes published during
the week; starts a local SMTP server (aiosmtpd); then times, with wall-clock and CPU seconds:

1. queueing the week's digests (``hub.mail.digest.queue_digests``): matching every reader's follows
   through their audience, the saved searches through the search index;
2. looking again a minute later, when nothing is due (the worker looks every minute);
3. writing and sending them (``hub.mail.sending.send_due`` until the queue is empty) over one SMTP
   connection per ``MAIL_BATCH`` mails, and, as the baseline, one connection per mail.

Figures and the machine's load go to stdout; the latest are in bench/README.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hub import create_app  # noqa: E402
from hub.extensions import db  # noqa: E402
from hub.models import Follow, Note, Term  # noqa: E402
from hub.models.base import utcnow  # noqa: E402
from hub.models.user import Role, User  # noqa: E402
from tests.smtp import MailServer  # noqa: E402

TOPICS = ["methadone", "needle-exchange", "naloxone", "hepatitis-c", "outreach", "stigma", "housing", "prep"]
WORDS = ["美沙酮门诊", "同伴支持", "针具交换", "夜间外展", "纳洛酮", "丙肝转介", "社区", "methadone", "outreach",
         "peer support", "naloxone kits", "clinic hours"]


def cpu() -> float:
    """Return CPU seconds used by this process and its children."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def build(app, *, readers: int, notes: int, rng: random.Random, since: dt.datetime) -> None:
    """Add the vocabulary, an author, the readers with their follows, and the week's notes."""
    terms = [Term(kind="topic", slug=slug, name_zh=slug, name_en=slug) for slug in TOPICS]
    author = User(username="author", pseudonym="Author", password_hash="x", role=Role.CONTRIBUTOR.value)
    db.session.add_all([*terms, author])
    db.session.flush()
    for n in range(readers):
        user = User(username=f"r{n}", pseudonym=f"Reader {n}", password_hash="x", email=f"r{n}@example.org",
                    locale=rng.choice(["zh_Hans", "en"]), timezone=rng.choice(["Asia/Shanghai", "UTC", None]))
        db.session.add(user)
        db.session.flush()
        for term in rng.sample(terms, 2):
            db.session.add(Follow(user_id=user.id, kind="topic", key=f"term:{term.id}", term_id=term.id,
                                  frequency="weekly", created_at=since))
        if n % 10 == 0:
            db.session.add(Follow(user_id=user.id, kind="search", key=f"search:{n}", query=rng.choice(WORDS),
                                  filters={}, frequency="weekly", created_at=since))
    for n in range(notes):
        published = since + dt.timedelta(seconds=rng.randrange(6 * 86400))
        db.session.add(Note(author_id=author.id, state="published", visibility=rng.choice(["members", "public"]),
                            language=rng.choice(["zh_Hans", "en"]), title=f"{rng.choice(WORDS)} {n}",
                            summary=" ".join(rng.choices(WORDS, k=12)), body=" ".join(rng.choices(WORDS, k=80)),
                            body_html="<p>…</p>", place="成都", published_at=published,
                            terms=rng.sample(terms, rng.randint(1, 2))))
    db.session.commit()


def timed(label: str, action) -> tuple[str, float, float, object]:
    wall, used = time.perf_counter(), cpu()
    result = action()
    return label, time.perf_counter() - wall, cpu() - used, result


def send_all(app) -> int:
    from hub.mail import sending

    total = 0
    while True:
        done = sending.send_due(app)
        if not done:
            return total
        total += done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--readers", type=int, default=1000)
    parser.add_argument("--notes", type=int, default=500)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    server = MailServer()
    server.start()
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"ENV": "development", "INSTANCE_PATH": folder, "BASE_URL": "https://hub.example.org",
                          "DATABASE_URL": f"sqlite:///{folder}/hub.sqlite", **server.config(), "MAIL_BATCH": 50})
        with app.app_context():
            import search_index
            from hub.mail import digest
            from hub.models import OutgoingMail

            db.create_all()
            start = utcnow()
            since = start - dt.timedelta(days=7)
            build(app, readers=args.readers, notes=args.notes, rng=rng, since=since)
            search_index.rebuild()
            digest.queue_digests(app, now=since)  # every reader's first period only marks the start
            rows = [timed("queue the week's digests", lambda: digest.queue_digests(app, now=start))]
            rows.append(timed("look again a minute later (nothing due)",
                              lambda: digest.queue_digests(app, now=start + dt.timedelta(minutes=1))))
            rows.append(timed(f"write and send ({app.config['MAIL_BATCH']} per connection)", lambda: send_all(app)))
            sizes = [len(raw) for raw in server.inbox.raw]
            db.session.query(OutgoingMail).filter(OutgoingMail.state == "sent").update(
                {"state": "pending", "next_attempt_at": utcnow()})
            db.session.commit()
            app.config["MAIL_BATCH"] = 1
            rows.append(timed("baseline: one connection per mail", lambda: send_all(app)))
    server.stop()
    print(f"readers {args.readers}, notes in the week {args.notes}, seed {args.seed}, load {os.getloadavg()}")
    print(f"| step | seconds | CPU s | mails | mails/s |\n|---|--:|--:|--:|--:|")
    for label, wall, used, count in rows:
        print(f"| {label} | {wall:.2f} | {used:.2f} | {count} | {count / wall if wall else 0:.0f} |")
    print(f"digest size: median {sorted(sizes)[len(sizes) // 2] / 1000:.1f} kB, largest {max(sizes) / 1000:.1f} kB")


if __name__ == "__main__":
    main()
