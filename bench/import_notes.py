"""Measure ``flask hub import-notes`` / ``export-notes`` on a generated bilingual corpus.

Run from the project root (see bench/README.md)::

    .venv/bin/python bench/import_notes.py --notes 10000

Each step gets a fresh hub (SQLite in a temporary instance folder, HUB_ENV=development), the
same projects and authors, and the same seeded corpus, so runs are comparable. Steps: check only
(``--dry-run``), import through the service, import through the real command in a subprocess
(Python start-up included), export, and the naive baseline that publishes each note the way the
web pages do (``create_draft`` + ``submit`` + ``approve``, three commits per note) on a smaller
sample, extrapolated to the full corpus.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402

from hub import create_app  # noqa: E402
from hub.extensions import db  # noqa: E402
from hub.models.events import Event  # noqa: E402
from hub.models.note import Note  # noqa: E402
from hub.models.user import Role, User  # noqa: E402
from hub.services import accounts, notes, projects, transfer, vocabulary  # noqa: E402

# --- the corpus ---------------------------------------------------------------------------------

PROJECTS = [("chengdu-peer-centre", "成都同伴支持服务中心", "Chengdu Peer Support Centre"),
            ("liangshan-outreach", "凉山外展小组", "Liangshan Outreach Team"),
            ("kunming-harm-reduction", "昆明减害小组", "Kunming Harm Reduction Group"),
            ("hanoi-harm-reduction", "河内减害网络", "Hanoi Harm Reduction Network")]
AUTHORS = [("小李", 0), ("阿木", 1), ("山风", 0), ("老周", 2), ("阿梅", 2), ("Lan", 3),
           ("小杨", 1), ("Minh", 3), ("红姐", 0), ("阿华", 2), ("Tom W", 3), ("小陈", 1)]
MODERATOR = "审核员"

ZH_TITLES = ["门诊里的同伴值班", "外展中的纳洛酮培训", "针具交换点的夜间服务", "陪同转介丙肝治疗",
             "家庭支持小组的第一次尝试", "美沙酮服务对象的就业合作社", "HIV检测动员：从茶馆开始",
             "监所释放后的第一周", "女性药物使用者的安全空间", "同伴教育员的督导会"]
ZH_PLACES = ["在成都", "在西昌", "在昆明", "在社区", "在门诊", "在县城"]
ZH_SENTENCES = [
    "很多服务对象在服药后马上离开，医生没有时间和他们聊。", "我们安排两名同伴教育员在候诊区值班。",
    "准备了热水和简单的早餐，大家愿意多坐一会儿。", "用化名登记谁需要转介，不留真实姓名。",
    "三个月后脱失的服务对象明显减少。", "服务对象说有人认识我、不评判我是留下来的主要原因。",
    "一次过量事件后，我们为针具交换点的常客做了纳洛酮使用培训。", "培训时间控制在二十分钟以内。",
    "参加的人回去后又教了自己的朋友。", "我们陪同服务对象去医院做丙肝检测，而不是只给一张转介单。",
    "污名和歧视仍然是最大的障碍，很多人害怕被家人知道。", "社区工作者和派出所的沟通需要提前做好。",
    "我们和疾控中心一起做了快速检测，结果当天就能拿到。", "有些服务对象第一次愿意谈自己的感染状况。",
    "合作社的手工产品在周末集市上卖得不错。", "下次会准备更多的示范用品和宣传折页。",
    "我们发现晚上八点以后来交换针具的人最多。", "同伴之间的信任比任何宣传材料都有用。",
]
EN_TITLES = ["Peer shifts in the methadone clinic", "Naloxone training after an overdose",
             "Night hours at the needle exchange", "Accompanied hepatitis C referrals",
             "A first family support group", "A cooperative for MMT clients",
             "HIV testing that starts in a tea house", "The first week after prison",
             "A safe space for women who use drugs", "Supervision for peer educators"]
EN_PLACES = ["in Chengdu", "in Xichang", "in Kunming", "in Hanoi", "at the drop-in centre", "on outreach"]
EN_SENTENCES = [
    "Many clients left right after their dose, and the doctors had no time to talk.",
    "Two peer educators now sit in the waiting room every morning.",
    "We offered hot water and a simple breakfast, so people stayed a little longer.",
    "Referrals are logged under a pseudonym; no real names are written down.",
    "After three months, fewer clients dropped out of treatment.",
    "Clients said that being known and not judged was why they stayed.",
    "After an overdose at the exchange, we trained regular visitors to use naloxone.",
    "Each training took less than twenty minutes, right next to the exchange point.",
    "People who took part went on to teach their friends.",
    "We walked with clients to the hepatitis C clinic instead of handing out a slip.",
    "Stigma is still the biggest barrier; many fear that their family will find out.",
    "Talking to the local police station beforehand made outreach much calmer.",
    "Rapid tests with the CDC gave people their result on the same day.",
    "Some clients spoke about their HIV status with a peer for the first time.",
    "The cooperative's handmade goods sold well at the weekend market.",
    "Next time we will bring more demonstration kits and leaflets.",
    "Most people came to exchange needles after eight in the evening.",
    "Trust between peers did more than any leaflet could.",
]
ZH_HEADINGS = ["背景", "我们做了什么", "发生了什么", "学到了什么", "下次会怎么做"]
EN_HEADINGS = ["Context", "What we did", "What happened", "What we learned", "What we would do differently"]
TAGS = ["冬季", "夜间服务", "同伴", "快速检测", "家属", "winter", "night shift", "peers", "rapid test",
        "referral", "cooperative", "naloxone"]
VISIBILITIES = ["members"] * 5 + ["partners"] * 2 + ["public"] * 3
EPOCH = dt.datetime(2021, 1, 1)


def _body(rng: random.Random, chinese: bool) -> str:
    """Write a Markdown body of 300 to 1500 characters: headed sections, paragraphs, a list."""
    sentences, headings = (ZH_SENTENCES, ZH_HEADINGS) if chinese else (EN_SENTENCES, EN_HEADINGS)
    target, parts = rng.randint(300, 1500), []
    for heading in headings:
        parts.append(f"## {heading}")
        if rng.random() < 0.3:
            parts.append("\n".join(f"- {s}" for s in rng.sample(sentences, 3)))
        else:
            text = ("" if chinese else " ").join(rng.sample(sentences, rng.randint(2, 5)))
            parts.append(f"**{text[:12]}**{text[12:]}" if rng.random() < 0.2 else text)
        if sum(map(len, parts)) >= target:
            break
    return "\n\n".join(parts)[:target].rstrip()


def make_record(rng: random.Random, index: int) -> dict[str, Any]:
    """Return one note in the import format."""
    chinese = rng.random() < 0.6
    author, project = AUTHORS[rng.randrange(len(AUTHORS))]
    titles, places = (ZH_TITLES, ZH_PLACES) if chinese else (EN_TITLES, EN_PLACES)
    title = f"{rng.choice(titles)}{'' if chinese else ' '}{rng.choice(places)} #{index}"
    body = _body(rng, chinese)
    moment = EPOCH + dt.timedelta(seconds=rng.randrange(5 * 365 * 86400))
    return {"title": title, "summary": body.split("\n\n")[1][:200], "body": body,
            "language": "zh_Hans" if chinese else "en", "project": PROJECTS[project][0],
            "topics": sorted(rng.sample([slug for slug, _, _ in vocabulary.TOPICS], rng.randint(1, 3))),
            "tags": rng.sample(TAGS, rng.randint(0, 3)), "visibility": rng.choice(VISIBILITIES),
            "published_at": moment.isoformat() + "Z", "author": author}


def write_corpus(path: Path, count: int, seed: int) -> None:
    """Write ``count`` seeded notes to ``path`` as JSON Lines."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as stream:
        for index in range(count):
            stream.write(json.dumps(make_record(rng, index), ensure_ascii=False) + "\n")


# --- fresh hubs ---------------------------------------------------------------------------------

def hub_env(instance: Path) -> dict[str, str]:
    """Return the environment of a development hub living in ``instance``."""
    return {**os.environ, "HUB_ENV": "development", "HUB_INSTANCE_PATH": str(instance), "FLASK_APP": "wsgi",
            # Cheap password hashes for the dozen bench accounts; importing never hashes passwords.
            "HUB_PASSWORD_HASH_METHOD": "scrypt:1024:8:1"}


def fresh_hub(instance: Path) -> Flask:
    """Create a hub with an empty SQLite database, the vocabulary, the projects and the authors."""
    os.environ.update(hub_env(instance))
    app = create_app()
    with app.app_context():
        db.create_all()
        vocabulary.seed()
        homes = [projects.save(projects.ProjectData(slug=s, name_zh=zh, name_en=en), by=None)
                 for s, zh, en in PROJECTS]
        for number, (pseudonym, home) in enumerate(AUTHORS):
            _account(f"author{number}", pseudonym, Role.CONTRIBUTOR, homes[home])
        _account("moderator", MODERATOR, Role.MODERATOR, homes[0])
        db.session.commit()
    return app


def _account(username: str, pseudonym: str, role: Role, project: Any) -> None:
    accounts.create_user(accounts.NewAccount(username=username, pseudonym=pseudonym, password="bench password 1",
                                             email=f"{username}@bench.invalid"), role=role, project=project)


def check_published(app: Flask, expected: int) -> None:
    """Fail loudly unless ``expected`` notes are published, each with one note.published event."""
    with app.app_context():
        published = db.session.scalar(db.select(db.func.count()).select_from(Note)
                                      .where(Note.state == "published"))
        events = db.session.scalar(db.select(db.func.count()).select_from(Event)
                                   .where(Event.kind == "note.published"))
    if (published, events) != (expected, expected):
        raise SystemExit(f"expected {expected} notes and events, found {published} and {events}")


# --- the steps ----------------------------------------------------------------------------------

@dataclass
class Result:
    """One measured step."""

    step: str
    notes: int
    seconds: float
    cpu: float  # CPU seconds of this process and its children: other load on the machine hardly moves it
    extrapolated: float | None = None

    @property
    def rate(self) -> float:
        """Return notes per second."""
        return self.notes / self.seconds


def timed(step: str, notes_count: int, work: Callable[[], Any]) -> Result:
    """Run ``work`` once and return how long it took, in wall-clock and in CPU seconds."""
    cpu, start = _cpu_seconds(), time.perf_counter()
    work()
    return Result(step, notes_count, time.perf_counter() - start, _cpu_seconds() - cpu)


def _cpu_seconds() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def service_import(app: Flask, corpus: Path, count: int, *, dry_run: bool = False) -> Result:
    """Import ``corpus`` through ``transfer.import_notes``."""
    def work() -> None:
        with app.app_context():
            report = transfer.import_notes(corpus, dry_run=dry_run)
        if report.skipped or report.imported != count:
            raise SystemExit(f"unexpected report: {report.imported} imported, problems {report.problems[:3]}")
    step = "check only (import_notes, dry_run)" if dry_run else "import (transfer.import_notes)"
    return timed(step, count, work)


def cli_import(instance: Path, corpus: Path, count: int) -> Result:
    """Import ``corpus`` with ``flask hub import-notes`` in a new process, as an admin would."""
    command = [sys.executable, "-m", "flask", "hub", "import-notes", str(corpus)]

    def work() -> None:
        subprocess.run(command, cwd=ROOT, env=hub_env(instance), check=True, stdout=subprocess.DEVNULL)
    return timed("import (flask hub import-notes, new process)", count, work)


def service_export(app: Flask, target: Path, count: int) -> Result:
    """Export every published note through ``transfer.export_notes``."""
    def work() -> None:
        with app.app_context():
            written = transfer.export_notes(target, viewer=transfer.HUB_VIEWER)
        if written != count:
            raise SystemExit(f"exported {written} notes, expected {count}")
    return timed("export (transfer.export_notes)", count, work)


def naive_import(app: Flask, corpus: Path, sample: int, total: int) -> Result:
    """Publish ``sample`` notes one by one as the web pages do, and extrapolate to ``total``."""
    with corpus.open(encoding="utf-8") as stream:
        records = [json.loads(next(stream)) for _ in range(sample)]
    with app.app_context():
        result = timed("naive: create_draft + submit + approve", sample, lambda: _publish_each(records))
    result.extrapolated = total / result.rate
    return result


def _publish_each(records: list[dict[str, Any]]) -> None:
    users = {u.pseudonym: u for u in db.session.scalars(db.select(User))}
    topic_ids = {t.slug: t.id for t in notes.terms("topic")}
    for record in records:
        author = users[record["author"]]
        data = notes.NoteInput(title=record["title"], summary=record["summary"], body=record["body"],
                               language=record["language"], visibility=record["visibility"],
                               tags=record["tags"], term_ids=[topic_ids[s] for s in record["topics"]])
        note = notes.create_draft(author=author, data=data)
        notes.submit(note, by=author)
        note.published_at = dt.datetime.fromisoformat(record["published_at"]).replace(tzinfo=None)
        notes.approve(note, by=users[MODERATOR])


# --- report -------------------------------------------------------------------------------------

def print_table(results: list[Result], corpus: Path, count: int, seed: int) -> None:
    """Print the machine, the corpus and one row per step."""
    size = corpus.stat().st_size / 1e6
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"\nPython {platform.python_version()}, {os.cpu_count()} CPUs (load average {load}), SQLite; "
          f"corpus: {count} notes, {size:.1f} MB of JSON Lines (seed {seed})\n")
    print(f"| {'step':<48} | {'notes':>6} | {'seconds':>8} | {'CPU s':>7} | {'notes/s':>8} |")
    print(f"|{'-' * 50}|{'-' * 7}:|{'-' * 9}:|{'-' * 8}:|{'-' * 9}:|")
    for r in results:
        print(f"| {r.step:<48} | {r.notes:>6} | {r.seconds:>8.1f} | {r.cpu:>7.1f} | {r.rate:>8.0f} |")
        if r.extrapolated is not None:
            cpu = r.cpu * count / r.notes
            print(f"| {'  ↳ extrapolated to ' + str(count) + ' notes':<48} | {count:>6} | "
                  f"{r.extrapolated:>8.0f} | {cpu:>7.0f} | {r.rate:>8.0f} |")


def main() -> None:
    """Generate the corpus, run every step on fresh hubs, print the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--notes", type=int, default=10_000, help="notes in the corpus (default 10000)")
    parser.add_argument("--naive", type=int, default=500, help="notes for the naive baseline (default 500)")
    parser.add_argument("--seed", type=int, default=2026, help="corpus seed (default 2026)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        root = Path(tmp)
        corpus = root / "notes.jsonl"
        write_corpus(corpus, args.notes, args.seed)
        results = run_steps(root, corpus, args.notes, min(args.naive, args.notes))
        print_table(results, corpus, args.notes, args.seed)


def run_steps(root: Path, corpus: Path, count: int, naive: int) -> list[Result]:
    """Run each step on its own fresh hub and check what it wrote."""
    app = fresh_hub(root / "service")
    results = [service_import(app, corpus, count, dry_run=True), service_import(app, corpus, count)]
    check_published(app, count)
    results.append(service_export(app, root / "export.jsonl", count))
    cli_app = fresh_hub(root / "cli")
    results.append(cli_import(root / "cli", corpus, count))
    check_published(cli_app, count)
    results.append(naive_import(fresh_hub(root / "naive"), corpus, naive, count))
    return results


if __name__ == "__main__":
    main()
