"""No process the test suite starts outlives the pytest process that started it, however pytest ends,
and no folder it made outside pytest's tmp_path (a PostgreSQL server's) stays behind.

Each test here runs a small pytest session in a process of its own whose test starts processes
the way the suite's fixtures do (through tests.spawn), kills that pytest with SIGKILL (no
teardown, no atexit), and waits for every process it started to be gone.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests import spawn
from tests.processes import alive

ROOT = Path(__file__).resolve().parents[2]

# A process like pg_ctl: it starts a child in a session of its own whose environment is emptied
# (nothing inherited: no mark), writes both pids, and waits.
DETACHING = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], env={}, start_new_session=True)
open(sys.argv[1], "a").write(f"{child.pid}\\n")
time.sleep(600)
"""

INNER_TEST = """
import os, sys, threading, time
from pathlib import Path
from tests import spawn

PIDS = Path({pids!r})
FOLDER = Path({folder!r})  # as tests.pg makes a server's folder outside tmp_path


def start(*args, **options):
    process = spawn.popen([sys.executable, *args], **options)
    with PIDS.open("a") as out:
        out.write(f"{{process.pid}}\\n")


def test_starts_processes_and_waits():
    FOLDER.mkdir()
    (FOLDER / "data").write_text("a server's files")
    spawn.remove_at_end(FOLDER)
    start("-c", "import time; time.sleep(600)")  # a plain child
    start("-c", {detaching!r}, str(PIDS), env={{"PATH": "/usr/bin:/bin"}})  # explicit environment, a detached grandchild
    starter = threading.Thread(target=start, args=("-c", "import time; time.sleep(600)"))
    starter.start()  # started from a thread that ends at once (PR_SET_PDEATHSIG would kill it now)
    starter.join()
    with PIDS.open("a") as out:
        out.write("ready\\n")
    time.sleep(600)
"""


def _wait_for_ready(pids: Path, session) -> list[int]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        text = pids.read_text() if pids.exists() else ""
        if "ready" in text and len(re.findall(r"\d+", text)) == 4:
            return [int(n) for n in re.findall(r"\d+", text)]
        assert session.poll() is None, session.communicate()[0]
        time.sleep(0.1)
    raise AssertionError(f"the inner session never got ready: {pids.read_text() if pids.exists() else ''}")


def test_processes_end_and_folders_go_when_pytest_is_killed(tmp_path):
    pids, folder = tmp_path / "pids", tmp_path / "server-folder"
    (tmp_path / "test_inner.py").write_text(INNER_TEST.format(pids=str(pids), folder=str(folder), detaching=DETACHING))
    session = spawn.popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.spawn",
                           "--rootdir", str(tmp_path), str(tmp_path / "test_inner.py")],
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    started: list[int] = []
    try:
        started = _wait_for_ready(pids, session)
        assert all(alive(pid) for pid in started) and (folder / "data").exists()
        session.send_signal(signal.SIGKILL)
        session.wait()
        deadline = time.monotonic() + 30
        while (any(alive(pid) for pid in started) or folder.exists()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in started if alive(pid)], "still running after pytest was killed"
        assert not folder.exists(), "the folder stayed after pytest was killed"
    finally:
        for pid in started:  # only the pids this test's session wrote
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        if session.poll() is None:
            session.kill()


def test_the_suite_starts_processes_only_through_spawn():
    """What starts a process elsewhere in tests/ escapes the reaper (tests.spawn says why)."""
    starting = re.compile(r"\bsubprocess\.(Popen|run|call|check_call|check_output)\(|\bos\.(system|fork|spawn\w*|exec\w*)\(")
    exempt = {"tests/spawn.py",  # the helper itself
              "tests/killed.py",  # wraps subprocess.run inside a child process, to kill it midway
              "tests/functional/test_spawned_processes.py"}  # the inner session's detaching child, on purpose
    found = [f"{path.relative_to(ROOT)}:{n}" for path in sorted((ROOT / "tests").rglob("*.py"))
             if str(path.relative_to(ROOT)) not in exempt
             for n, line in enumerate(path.read_text().splitlines(), 1) if starting.search(line)]
    assert found == [], "start these through tests.spawn.popen or tests.spawn.run"
