"""Measure the hub's pages under load beside a bare Flask app, as issue 11 item 6 asks.

    .venv/bin/python bench/web.py                                   # about 15 minutes
    .venv/bin/python bench/web.py --seconds 5 --connections 8 32 --pages home note --audiences anonymous

In one run, the bench:

1. starts a throwaway PostgreSQL 15 server (``tests/pg.py``; durable: fsync and synchronous
   commit on, as in production, unless ``--fast-db``);
2. prepares a hub on it the way an operator would (the migrations, the seed vocabulary, the demo
   projects and accounts) and fills it with ``--notes`` seeded bilingual published notes
   (``bench/import_notes.py``'s corpus: half of them for members only, a fifth for partner hubs,
   the rest public), comments and marks on the newest notes, drafts for the editor's autosave, and
   the search index; it opens a log-in session for the demo member ``partner`` (the signed-in
   reader) and the contributor ``peer`` (autosave), with their signed session cookies and a CSRF token;
3. starts gunicorn twice with the production settings (``-c python:hub.gunicorn_conf``: 3
   processes of 4 threads, as the README's Deploying section runs it, without nginx in front):
   the hub (``wsgi:app``) and a bare Flask app answering "Hello, World!", the same settings for
   both, and no hub worker (nothing but the requests runs); the API's rate limits are lifted
   (the bench measures what a search costs, not the limiter's refusals);
4. loads each page with Debian's ``wrk`` (``apt-get install -y wrk``) at each connection count,
   after an unrecorded warm-up (``--warmup`` seconds, longer for targets with many pages: 0.3 s
   per page, at most 90, so that every worker has met most of them, then rounds of 8 s until the
   rate rises by less than 5 %: the figures are for warm caches; ``--profile`` shows what a page
   costs cold), and prints requests per second, the CPU time the server used per request,
   p50/p95/p99 latency and the ratio to the bare app at the same connection count, per page and
   audience (the bare app is loaded before and after the pages at each count; the better of the
   two is the baseline, marked in the table).

Pages: ``home`` (/), ``note`` (a note page, one of the ``--hot`` newest notes the reader may see,
chosen at random per request), ``notes`` (the notes list, pages 1-5 and by topic), ``search``
(/search with one of a dozen Chinese and English queries), ``api`` (/api/v1/search, the same
queries) and ``autosave`` (POST /notes/autosave of one of 32 drafts, signed in as a contributor;
only for the signed-in audience). Every request asks for Chinese or English at random
(Accept-Language), as the hub's readers do.

``--before CHECKOUT`` serves the same database from another checkout too (a ``git worktree`` of
the commit before a change, with its own ``.venv``), warmed the same way and loaded right after
this one at every point: its rows say "(before)". Both share the machine's moment, which the
bare app's figures alone do not capture.

``--profile N`` measures nothing under load: it warms each page as the load does (every path in
both languages), sends it N times through Flask's test client in this process (the same hub,
database and sessions) three times over and prints the CPU time per request of the best round
(this process only: no gunicorn, no PostgreSQL), then profiles N more and prints where a request's
time goes: SQL statements and their time, template rendering, the log-in session lookup, CSRF, Babel,
search, the response hooks, and the functions that cost most (cProfile, which inflates Python
time by about half: read the columns as shares, not as absolute figures).

The machine is shared: the load average before and after each point is printed with it, and
wall-clock figures move with it. Compare the hub with the bare app of the same run.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import import_notes as corpus  # noqa: E402  (bench/import_notes.py: the seeded corpus)
from tests.pg import start_server  # noqa: E402

PAGES = ("home", "note", "notes", "search", "api", "autosave")
AUDIENCES = ("anonymous", "member")
QUERIES = ["美沙酮", "methadone", "纳洛酮", "naloxone training", "丙肝 转介", "hepatitis C referral",
           "针具交换", "needle exchange", "同伴教育", "peer educators", "\"快速检测\"", "stigma -family"]
BARE_APP = '''from flask import Flask

app = Flask(__name__)


@app.get("/")
def index():
    return "Hello, World!"
'''
# wrk runs this in each of its threads: a random path (and body) per request, cookies, a language,
# and at the end one line of JSON with the figures.
WARMUP_ROUNDS, WARMUP_ROUND_SECONDS = 12, 8  # at most 96 s more per target, until its rate is steady

WRK_SCRIPT = r'''
local paths, bodies = {}, {}
for line in io.lines(os.getenv("BENCH_PATHS")) do paths[#paths + 1] = line end
if os.getenv("BENCH_BODIES") then
  for line in io.lines(os.getenv("BENCH_BODIES")) do bodies[#bodies + 1] = line end
end
local cookie = os.getenv("BENCH_COOKIE")
local languages = {"zh-CN,zh;q=0.9,en;q=0.8", "en-GB,en;q=0.9"}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end

function init(args)
  math.randomseed(os.time() * 100 + (seed or 0))
end

function request()
  local headers = {["Accept-Language"] = languages[math.random(#languages)]}
  if cookie then headers["Cookie"] = cookie end
  if #bodies > 0 then
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return wrk.format("POST", paths[math.random(#paths)], headers, bodies[math.random(#bodies)])
  end
  return wrk.format("GET", paths[math.random(#paths)], headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "seconds": %f, "p50": %d, "p95": %d, "p99": %d, "max": %d, ' ..
    '"connect": %d, "read": %d, "write": %d, "timeout": %d, "status": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.timeout, e.status))
end
'''


def log(message: str) -> None:
    """Print a progress line on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def loadavg() -> str:
    """Return the 1, 5 and 15 minute load averages."""
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def free_port() -> int:
    """Return a free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the hub's data ---------------------------------------------------------------------------------

@dataclass
class Prepared:
    """What the load needs to know about the prepared hub."""

    env: dict[str, str]
    member_cookie: str
    writer_cookie: str
    csrf_token: str
    public_notes: list[int]
    member_notes: list[int]
    drafts: list[int]
    topics: list[str]


def hub_env(url: str, instance: Path) -> dict[str, str]:
    """Return the environment of a production hub on ``url`` living in ``instance``."""
    return {**os.environ, "HUB_DATABASE_URL": url, "HUB_INSTANCE_PATH": str(instance), "FLASK_APP": "wsgi",
            "HUB_SECRET_KEY": "bench-secret-" + "x" * 40, "HUB_ENV": "production",
            # Cheap password hashes for the bench accounts; no request checks a password.
            "HUB_PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
            # wrk's connections all come from one address: no limit, so every answer is a real one.
            "HUB_API_RATE_LIMIT": "100000000 per minute", "HUB_API_RATE_LIMIT_ANONYMOUS": "100000000 per minute"}


def prepare(env: dict[str, str], notes: int, hot: int, seed: int, workdir: Path) -> Prepared:
    """Build the hub's database and index; return the sessions and the ids the load asks for."""
    os.environ.update(env)
    from flask_migrate import upgrade

    from hub import create_app, demo
    from hub.extensions import db
    from hub.services import projects, transfer, vocabulary
    import search_index

    app = create_app()
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        vocabulary.seed()
        demo.load()
        homes = {s: projects.by_slug(s) or projects.save(projects.ProjectData(slug=s, name_zh=zh, name_en=en), by=None)
                 for s, zh, en in corpus.PROJECTS}
        for number, (pseudonym, home) in enumerate(corpus.AUTHORS):
            _account(f"author{number}", pseudonym, "contributor", homes[corpus.PROJECTS[home][0]])
        db.session.commit()
        path = workdir / "notes.jsonl"
        corpus.write_corpus(path, notes, seed)
        started = time.time()
        report = transfer.import_notes(path)
        log(f"imported {report.imported} notes in {time.time() - started:.0f} s")
        ids = _discussion(hot, seed)
        ids["drafts"] = _drafts(32)
        started = time.time()
        search_index.rebuild()
        log(f"search index built in {time.time() - started:.0f} s")
        member_cookie, _ = _signed_in(app, "partner")
        writer_cookie, csrf = _signed_in(app, "peer")
        db.session.commit()
        _vacuum(db.engine)
    return Prepared(env=env, member_cookie=member_cookie, writer_cookie=writer_cookie, csrf_token=csrf, **ids)


def _vacuum(engine) -> None:
    """VACUUM ANALYZE the freshly filled database, as a server that has run a while has been, so that
    PostgreSQL's autovacuum does not do it during the first points (its CPU counts as the hub's)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")


def _account(username: str, pseudonym: str, role: str, project) -> None:
    """Add a corpus author unless the demo has one of that pseudonym (the import finds authors by pseudonym)."""
    import sqlalchemy as sa

    from hub.extensions import db
    from hub.models.user import Role, User
    from hub.services import accounts

    if db.session.scalar(sa.select(User.id).where(User.pseudonym == pseudonym)) is None:
        accounts.create_user(accounts.NewAccount(username=username, pseudonym=pseudonym, password="bench password 1",
                                                 email=f"{username}@bench.invalid"), role=Role(role), project=project)


def _discussion(hot: int, seed: int) -> dict[str, list]:
    """Add comments and marks to the ``hot`` newest notes; return the hot notes per audience and the topics."""
    import sqlalchemy as sa

    from hub.extensions import db
    from hub.models import Comment, Mark, Note, Term
    from hub.models.user import User
    from hub.text import render_markdown

    rng = random.Random(seed)
    readers = list(db.session.scalars(sa.select(User)))
    newest = sa.select(Note.id).where(Note.state == "published", Note.translation_of_id.is_(None)) \
        .order_by(Note.published_at.desc(), Note.id.desc()).limit(hot)
    public = list(db.session.scalars(newest.where(Note.visibility == "public")))
    every = list(db.session.scalars(newest))
    for note_id in set(public) | set(every):
        for _ in range(rng.randint(0, 8)):
            body = rng.choice(corpus.ZH_SENTENCES + corpus.EN_SENTENCES)
            db.session.add(Comment(note_id=note_id, author=rng.choice(readers), body=body,
                                   body_html=render_markdown(body)))
        for reader in rng.sample(readers, rng.randint(0, min(5, len(readers)))):
            db.session.add(Mark(note_id=note_id, user_id=reader.id, kind=rng.choice(("tried", "useful"))))
    db.session.commit()
    topics = list(db.session.scalars(sa.select(Term.slug).where(Term.kind == "topic")))
    return {"public_notes": public, "member_notes": every, "topics": topics}


def _drafts(count: int) -> list[int]:
    """Write ``count`` drafts by the contributor ``peer`` (what autosave saves again)."""
    from hub.services import accounts, notes

    peer = accounts.find_by_login("peer")
    return [notes.create_draft(author=peer, data=notes.NoteInput(
        title=f"草稿 {n}", summary="", body="还在写。", language="zh_Hans", visibility="members")).id
        for n in range(count)]


def _signed_in(app, username: str) -> tuple[str, str]:
    """Open a log-in session for ``username``; return its Cookie header value and a CSRF token."""
    from flask import session
    from flask_wtf.csrf import generate_csrf

    from hub.services import accounts

    token = accounts.start_session(accounts.find_by_login(username))
    # A fresh app context: Flask-WTF keeps the token made for the previous account in ``g``.
    with app.app_context(), app.test_request_context("/"):
        session["sid"] = token
        csrf = generate_csrf()
        value = app.session_interface.get_signing_serializer(app).dumps(dict(session))
    # As a browser does: keep the cookie the first page sends back (Flask-Login marks the session
    # there), so that the load does not re-sign a changed session on every request.
    name = app.config["SESSION_COOKIE_NAME"]
    client = app.test_client()
    client.set_cookie(name, value, domain="localhost")
    with app.app_context():  # its own database session, closed with it
        client.get("/")
    kept = client.get_cookie(name, domain="localhost")
    return f"{name}={kept.value if kept else value}", csrf


def cpu_seconds(*roots: int) -> float:
    """Return the CPU time (user and system) used so far by processes ``roots`` and all below them."""
    children: dict[int, list[int]] = {}
    times: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        pid = int(entry.name)
        children.setdefault(int(fields[1]), []).append(pid)  # fields[1]: the parent (stat's 4th field)
        times[pid] = int(fields[11]) + int(fields[12])  # utime, stime (stat's 14th and 15th)
    total, todo = 0, list(roots)
    while todo:
        pid = todo.pop()
        total += times.get(pid, 0)
        todo.extend(children.get(pid, ()))
    return total / os.sysconf("SC_CLK_TCK")


def postmaster_pid(server) -> int:
    """Return the PostgreSQL server's main process (its backends are below it)."""
    return int(Path(server.directory, "data", "postmaster.pid").read_text().split()[0])


# --- servers ---------------------------------------------------------------------------------------

class Gunicorn:
    """A gunicorn serving ``target`` on a free port with the production settings."""

    def __init__(self, target: str, env: dict[str, str], cwd: Path, config: str, workers: int, extra: list[str],
                 logs: Path, root: Path = ROOT) -> None:
        self.port = free_port()
        command = [str(root / ".venv/bin/gunicorn"), *(["-c", config] if config else []), "-w", str(workers),
                   "-b", f"127.0.0.1:{self.port}", "--no-control-socket", *extra, target]
        self.command = " ".join(["gunicorn", *command[1:]])
        self.log = open(logs / f"gunicorn-{self.port}.log", "wb")
        self.process = subprocess.Popen(command, cwd=cwd, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait(self, path: str, timeout: float = 60) -> None:
        """Wait until ``path`` answers 200."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.url(path), timeout=5) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise SystemExit(f"gunicorn on port {self.port} did not answer {path}: see {self.log.name}")

    def url(self, path: str = "") -> str:
        """Return the URL of ``path`` on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        """Stop gunicorn and its workers."""
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


# --- load -------------------------------------------------------------------------------------------

@dataclass
class Target:
    """One page for one audience: the paths wrk picks from, the cookie, the POST bodies."""

    page: str
    audience: str
    paths: list[str]
    cookie: str | None = None
    bodies: list[str] | None = None


def targets(data: Prepared, pages: list[str], audiences: list[str]) -> list[Target]:
    """Return what to load, page by page and audience by audience."""
    found = []
    for audience in audiences:
        cookie = data.member_cookie if audience == "member" else None
        note_ids = data.member_notes if audience == "member" else data.public_notes
        paths = {
            "home": ["/"],
            "note": [f"/notes/{i}" for i in note_ids],
            "notes": [f"/notes?page={p}" for p in range(1, 6)] + [f"/notes?topic={t}" for t in data.topics],
            "search": ["/search?" + urllib.parse.urlencode({"q": q}) for q in QUERIES],
            "api": ["/api/v1/search?" + urllib.parse.urlencode({"q": q}) for q in QUERIES],
            "autosave": ["/notes/autosave"],
        }
        for page in pages:
            if page == "autosave":
                if audience == "member":
                    found.append(Target("autosave", "contributor", paths[page], data.writer_cookie,
                                        _autosave_bodies(data)))
                continue
            found.append(Target(page, audience, paths[page], cookie))
    return found


def _autosave_bodies(data: Prepared) -> list[str]:
    """Return form bodies as the editor's script sends them, one per draft and version."""
    rng = random.Random(7)
    bodies = []
    for note_id in data.drafts:
        for version in range(4):
            text = "".join(rng.sample(corpus.ZH_SENTENCES, 6))
            bodies.append(urllib.parse.urlencode({
                "csrf_token": data.csrf_token, "note_id": str(note_id), "title": f"草稿 {note_id}.{version}",
                "summary": text[:80], "body": text, "language": "zh_Hans", "visibility": "members",
                "place": "成都", "province": "四川", "tags": "同伴, 冬季"}))
    return bodies


def run_wrk(url: str, target: Target | None, connections: int, seconds: float, workdir: Path) -> dict:
    """Load ``url`` with wrk and return its figures."""
    script = workdir / "bench.lua"
    script.write_text(WRK_SCRIPT)
    paths = workdir / "paths.txt"
    paths.write_text("\n".join(target.paths if target else ["/"]) + "\n")
    env = {**os.environ, "BENCH_PATHS": str(paths)}
    env.pop("BENCH_COOKIE", None)
    env.pop("BENCH_BODIES", None)
    if target and target.cookie:
        env["BENCH_COOKIE"] = target.cookie
    if target and target.bodies:
        bodies = workdir / "bodies.txt"
        bodies.write_text("\n".join(target.bodies) + "\n")
        env["BENCH_BODIES"] = str(bodies)
    command = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{max(1, round(seconds))}s", "--timeout", "10s",
               "-s", str(script), url]
    before = loadavg()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"wrk failed: {done.stderr or done.stdout}")
    output = done.stdout
    line = next((l for l in output.splitlines() if l.startswith("BENCH ")), None)
    if line is None:
        raise SystemExit(f"wrk printed no figures:\n{output}")
    figures = json.loads(line[len("BENCH "):])
    figures["rps"] = figures["requests"] / figures["seconds"]
    figures["load"] = f"{before} → {loadavg()}"
    return figures


def check_pages(hub: Gunicorn, data: Prepared, wanted: list[Target]) -> None:
    """Fail early unless every target answers as it should (200, the member signed in, autosave ok)."""
    for target in wanted:
        request = urllib.request.Request(hub.url(target.paths[0]), data=(target.bodies[0].encode()
                                                                           if target.bodies else None))
        if target.cookie:
            request.add_header("Cookie", target.cookie)
        if target.bodies:
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                body = answer.read().decode()
        except urllib.error.HTTPError as error:
            hub.log.flush()
            raise SystemExit(f"{target.page} ({target.audience}) answered {error.code}; the hub's log ends:\n"
                             + Path(hub.log.name).read_text()[-2000:])
        if target.page == "autosave" and '"ok":true' not in body.replace(" ", ""):
            raise SystemExit(f"autosave did not save: {body[:300]}")
        if target.audience == "member" and target.page not in ("api", "autosave") and "/logout" not in body:
            raise SystemExit(f"{target.page}: the member is not signed in")


# --- the run ----------------------------------------------------------------------------------------

def main() -> None:
    """Prepare, serve, load, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--notes", type=int, default=3000, help="published notes (default 3000)")
    parser.add_argument("--hot", type=int, default=200, help="newest notes the note page picks from (default 200)")
    parser.add_argument("--seconds", type=float, default=10, help="seconds per point (default 10)")
    parser.add_argument("--warmup", type=float, default=3, help="unrecorded seconds per target first (default 3)")
    parser.add_argument("--connections", type=int, nargs="+", default=[8, 32, 64])
    parser.add_argument("--pages", nargs="+", default=list(PAGES), choices=PAGES)
    parser.add_argument("--audiences", nargs="+", default=list(AUDIENCES), choices=AUDIENCES)
    parser.add_argument("--config", default="python:hub.gunicorn_conf",
                        help="gunicorn settings for both apps (default: the production ones; '' for gunicorn's own)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn processes for both apps (default 3)")
    parser.add_argument("--gunicorn", default="", help="more gunicorn options for both apps, e.g. '--threads 1'")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--fast-db", action="store_true", help="PostgreSQL without fsync (as the test suite)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--profile", type=int, metavar="N", help="profile N requests per page in-process instead of loading")
    parser.add_argument("--profile-dump", metavar="DIR", help="with --profile, also write each page's pstats file here")
    parser.add_argument("--before", type=Path, metavar="CHECKOUT",
                        help="also serve the same database from another checkout of the hub (with its own .venv), "
                             "loaded right after this one at every point: the figures before and after a change")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")

    workdir = Path(tempfile.mkdtemp(prefix="hub-bench-web-"))
    server = start_server(durable=not args.fast_db)
    servers: list[Gunicorn] = []
    try:
        url = server.create_database("hub")
        log(f"PostgreSQL on port {server.port}; preparing {args.notes} notes")
        env = hub_env(url, workdir / "instance")
        data = prepare(env, args.notes, args.hot, args.seed, workdir)
        if args.profile:
            profile(data, targets(data, args.pages, args.audiences), args.profile, args.profile_dump)
            return
        bare_dir = workdir / "bare"
        bare_dir.mkdir()
        (bare_dir / "bare_flask.py").write_text(BARE_APP)
        extra = args.gunicorn.split()
        hub = Gunicorn("wsgi:app", env, ROOT, args.config, args.workers, extra, workdir)
        bare = Gunicorn("bare_flask:app", {**os.environ}, bare_dir, args.config, args.workers, extra, workdir)
        servers += [hub, bare]
        before = None
        if args.before:
            before = Gunicorn("wsgi:app", env, args.before.resolve(), args.config, args.workers, extra, workdir,
                              root=args.before.resolve())
            servers.append(before)
            before.wait("/healthz")
        hub.wait("/healthz")
        bare.wait("/")
        wanted = targets(data, args.pages, args.audiences)
        check_pages(hub, data, wanted)
        rows = measure(hub, bare, wanted, args, workdir, postmaster_pid(server), before)
        report(rows, args, hub)
        if args.json:
            args.json.write_text(json.dumps(rows, indent=1, ensure_ascii=False))
    finally:
        for one in servers:
            one.stop()
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def measure(hub: Gunicorn, bare: Gunicorn, wanted: list[Target], args: argparse.Namespace, workdir: Path,
            database: int, before: Gunicorn | None = None) -> list[dict]:
    """Warm every target up, then load each at every connection count; return one row per point.

    Besides requests per second, each point counts the CPU time the server used per request: the
    bare app's gunicorn, or the hub's gunicorn and PostgreSQL (``database``: the postmaster's
    pid). Unlike requests per second, it does not move with what else the machine runs (wrk, the
    other engineers' work), so its ratio is the steadier measure of what a page costs.
    """
    log(f"warming up (load average {loadavg()})")
    run_wrk(bare.url(), None, 8, args.warmup, workdir)
    hubs = [(hub, "")] + ([(before, " (before)")] if before else [])
    for target in wanted:
        for server, label in hubs:
            # Long enough for each worker to have met most of the target's pages in both languages...
            rate = run_wrk(server.url(), target, 8, max(args.warmup, min(90.0, 0.3 * len(target.paths))), workdir)["rps"]
            for _ in range(WARMUP_ROUNDS):  # ...and then until the rate stops rising: each process fills its own caches
                now = run_wrk(server.url(), target, 8, WARMUP_ROUND_SECONDS, workdir)["rps"]
                if now < 1.05 * rate:
                    break
                rate = now
            log(f"warm: {target.page} ({target.audience}){label} at {rate:.0f} req/s")
    rows = []
    for connections in args.connections:
        baseline = _bare(bare, connections, args, workdir, "before the pages")
        first = len(rows)
        rows.append(baseline)
        for target in wanted:
            for server, label in hubs:
                started, database_started = cpu_seconds(server.process.pid, database), cpu_seconds(database)
                figures = run_wrk(server.url(), target, connections, args.seconds, workdir)
                figures["cpu_ms"] = (1000 * (cpu_seconds(server.process.pid, database) - started)
                                     / max(1, figures["requests"]))
                figures["database_cpu_ms"] = 1000 * (cpu_seconds(database) - database_started) / max(1, figures["requests"])
                rows.append({"page": target.page, "audience": target.audience + label, "connections": connections,
                             **figures})
                log(f"{target.page} ({target.audience}){label} c={connections}: {figures['rps']:.0f} req/s, "
                    f"p95 {figures['p95'] / 1000:.0f} ms, CPU {figures['cpu_ms']:.2f} ms a request "
                    f"(PostgreSQL {figures['database_cpu_ms']:.2f})")
        again = _bare(bare, connections, args, workdir, "after the pages")
        rows.append(again)
        # The baseline is the better of the two: a bare app measured while the machine was busier
        # (another engineer's build, a cold process) would flatter every page of this point.
        best = max(baseline, again, key=lambda row: row["rps"])
        best["baseline"] = True
        for row in rows[first:]:
            row["ratio"] = row["rps"] / best["rps"]
            row["cpu_ratio"] = best["cpu_ms"] / row["cpu_ms"] if row["cpu_ms"] else 0.0
    return rows


def _bare(bare: Gunicorn, connections: int, args: argparse.Namespace, workdir: Path, when: str) -> dict:
    """Load the bare app once at ``connections``; return its row."""
    started = cpu_seconds(bare.process.pid)
    figures = run_wrk(bare.url(), None, connections, args.seconds, workdir)
    figures["cpu_ms"] = 1000 * (cpu_seconds(bare.process.pid) - started) / max(1, figures["requests"])
    log(f"bare Flask c={connections} ({when}): {figures['rps']:.0f} req/s, CPU {figures['cpu_ms']:.2f} ms a request")
    return {"page": "bare Flask", "audience": when, "connections": connections, **figures}


def report(rows: list[dict], args: argparse.Namespace, hub: Gunicorn) -> None:
    """Print the figures as a Markdown table."""
    print(f"\n{dt.date.today()}, Python {platform.python_version()}, {os.cpu_count()} CPUs, PostgreSQL "
          f"({'fsync off' if args.fast_db else 'durable'}), {args.notes} published notes, "
          f"`{hub.command}` (hub) beside a bare Flask app, wrk {args.seconds:g} s per point\n")
    print("| page | reader | conn. | req/s | % of bare | CPU ms per request | of which PostgreSQL | % of bare's CPU cost "
          "| p50 ms | p95 ms | p99 ms | errors | load average |")
    print("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|")
    for r in rows:
        errors = r["connect"] + r["read"] + r["write"] + r["timeout"] + r["status"]
        reader = f"{r['audience']} (the baseline)" if r.get("baseline") else r["audience"]
        print(f"| {r['page']} | {reader} | {r['connections']} | {r['rps']:.0f} | {100 * r['ratio']:.1f} | "
              f"{r['cpu_ms']:.2f} | {r.get('database_cpu_ms', 0.0):.2f} | "
              f"{100 * r['cpu_ratio']:.1f} | {r['p50'] / 1000:.0f} | {r['p95'] / 1000:.0f} | {r['p99'] / 1000:.0f} | {errors} | {r['load']} |")


# --- where a request's time goes ----------------------------------------------------------------------

# (label, module path ending, function name): cumulative time of these, per request.
PARTS = [
    ("log-in lookup", "hub/services/accounts.py", "session_user_with"),
    ("CSRF", "flask_wtf/csrf.py", "protect"),
    ("locale", "blueprints/web/locale.py", "select_locale"),
    ("view", "flask/app.py", "dispatch_request"),
    ("template", "flask/templating.py", "_render"),
    ("search", "search_index/__init__.py", "search"),
    ("similar", "search_index/__init__.py", "similar"),
    ("gettext", "flask_babel/__init__.py", "gettext"),
    ("dates", "flask_babel/__init__.py", "format_datetime"),
    ("dates", "flask_babel/__init__.py", "format_date"),
    ("after hooks", "flask/app.py", "process_response"),
    ("SQL", "sqlalchemy/engine/default.py", "do_execute"),
]


def profile(data: Prepared, wanted: list[Target], count: int, dump: str | None = None) -> None:
    """Send each target ``count`` times in-process; print SQL counts and where the time goes."""
    import cProfile
    import pstats

    import psycopg

    from hub import create_app

    app = create_app()
    statements = [0]
    execute = psycopg.Cursor.execute

    def counted(cursor, *args, **kwargs):  # at the driver: the content version's read skips SQLAlchemy (and cursors)
        statements[0] += 1
        return execute(cursor, *args, **kwargs)

    psycopg.Cursor.execute = counted
    from hub import content_version

    exec_prepared = content_version._exec_prepared

    def counted_libpq(pgconn):  # the content version's read outside a transaction goes to libpq directly
        statements[0] += 1
        return exec_prepared(pgconn)

    content_version._exec_prepared = counted_libpq
    print(f"\n{count} requests per page in-process (Flask test client), PostgreSQL, load average {loadavg()}\n")
    print("| page | reader | CPU ms/request | ms/request profiled | SQL statements | "
          + " | ".join(dict.fromkeys(p[0] for p in PARTS)) + " |")
    print("|---|---|--:|--:|--:|" + "--:|" * len(dict.fromkeys(p[0] for p in PARTS)))
    hot = {}
    for target in wanted:
        client = app.test_client()
        if target.cookie:
            name, value = target.cookie.split("=", 1)
            client.set_cookie(name, value, domain="localhost")
        rng = random.Random(1)

        def send() -> None:
            path = rng.choice(target.paths)
            headers = {"Accept-Language": rng.choice(["zh-CN,zh;q=0.9", "en-GB,en;q=0.9"])}
            if target.bodies:
                answer = client.post(path, data=rng.choice(target.bodies), headers=headers,
                                     content_type="application/x-www-form-urlencoded")
            else:
                answer = client.get(path, headers=headers)
            if answer.status_code != 200:
                raise SystemExit(f"{target.page} {path}: {answer.status_code}")

        # Warm as the load's warm-up does: every path in both languages (twice: a member's own parts
        # are cached on their second visit), or a few autosaves.
        for path in [] if target.bodies else target.paths * 2:
            for language in ("zh-CN,zh;q=0.9", "en-GB,en;q=0.9"):
                client.get(path, headers={"Accept-Language": language})
        for _ in range(3):
            send()
        cpu = []
        for _ in range(3):  # without the profiler, the best of three rounds (the machine is shared)
            started = time.process_time()
            for _ in range(count):
                send()
            cpu.append((time.process_time() - started) / count)
        statements[0] = 0
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for _ in range(count):
            send()
        profiler.disable()
        elapsed = (time.perf_counter() - started) / count
        stats = pstats.Stats(profiler)
        parts: dict[str, float] = {}
        for (path, _line, name), (_cc, _nc, _tt, cumulative, _callers) in stats.stats.items():
            for label, suffix, function in PARTS:
                if name == function and path.endswith(suffix):
                    parts[label] = parts.get(label, 0.0) + cumulative
        cells = " | ".join(f"{1000 * parts.get(label, 0.0) / count:.1f}" for label in dict.fromkeys(p[0] for p in PARTS))
        print(f"| {target.page} | {target.audience} | {1000 * min(cpu):.2f} | {1000 * elapsed:.1f} | "
              f"{statements[0] / count:.1f} | {cells} |")
        hot[(target.page, target.audience)] = stats
        if dump:
            Path(dump).mkdir(parents=True, exist_ok=True)
            stats.dump_stats(str(Path(dump) / f"{target.page}-{target.audience}.pstats"))
    for (page, audience), stats in hot.items():
        print(f"\n### {page} ({audience}): the functions with most time of their own")
        stats.sort_stats("tottime").print_stats(12)


if __name__ == "__main__":
    main()
