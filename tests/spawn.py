"""Start processes for the tests so that none outlives the pytest process that started it.

Tests start real processes: hubs (``flask hub serve`` and its worker), workers, gunicorn and its
workers, nginx, PostgreSQL servers (``pg_ctl`` leaves the server running on its own, in a session
of its own). When pytest ends without running its fixtures' teardown (Ctrl-C twice, SIGKILL, a CI
timeout), they would run on, holding ports, files and CPU.

So every pytest process (with xdist, the controller and each worker) starts a *reaper* at
configuration (:func:`start_reaper`): a small process in a session of its own, so that a Ctrl-C
or a signal to pytest's process group does not reach it, reading a pipe only pytest holds open.
The pipe closes when pytest ends, however it ends; the reaper then ends what the suite started:

- every process :func:`popen` and :func:`run` started (the reaper is told its pid and start time,
  so a pid used again later by somebody else's process is never touched);
- every process whose environment carries ``HUB_TEST_SESSION=<this pytest's token>``: what these
  start inherit it (the hubs' workers, a PostgreSQL server that ``pg_ctl`` detached, through ``su``);
- every descendant of those, found by parent pid (children of nginx and PostgreSQL, which rewrite
  the memory ``/proc/<pid>/environ`` shows to set their process titles);

but never another reaper (an xdist worker's, which still has to end what its worker started).

It sends them SIGTERM (the hubs and workers stop cleanly, gunicorn and PostgreSQL stop their
children), waits up to :data:`GRACE` seconds and sends SIGKILL to what is left. Then it deletes the
folders it was told of (:func:`remove_at_end`: a PostgreSQL server's data, made outside pytest's
``tmp_path``, which pytest would never clean).

Not ``prctl(PR_SET_PDEATHSIG)``: it reaches only direct children, fires when the *thread* that
forked ends (a process started from a short-lived thread would die at once), and ``su`` clears it
when it changes user (the PostgreSQL server).

Start every process of the suite through :func:`popen` or :func:`run` (a test checks that no other
place in ``tests/`` calls :mod:`subprocess` to start one).
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

MARK = "HUB_TEST_SESSION"
# In a reaper's environment: another pytest's reaper (an xdist controller's, for its workers' reapers)
# leaves it alone, so that it still ends what its own pytest started after that pytest was ended.
REAPER = "HUB_TEST_REAPER"
GRACE = 10.0
ROOT = Path(__file__).resolve().parent.parent

_reaper: subprocess.Popen | None = None
_lock = threading.Lock()


# --- in pytest ---------------------------------------------------------------------------------

def pytest_configure(config: Any) -> None:
    """Start this pytest process's reaper (pytest calls it: ``-p tests.spawn``, or tests/conftest.py)."""
    start_reaper()


def start_reaper() -> None:
    """Start the reaper of this process's children and mark this process's environment (once)."""
    global _reaper
    if _reaper is not None:
        return
    os.environ[MARK] = secrets.token_hex(8)  # what pytest itself starts inherits it
    _reaper = subprocess.Popen([sys.executable, "-m", "tests.spawn", os.environ[MARK]], cwd=ROOT,
                               stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True, env={**os.environ, MARK: "", REAPER: "1"})


def popen(args: list[str], **options: Any) -> subprocess.Popen:
    """Start a process as :class:`subprocess.Popen` does; it ends with this pytest process at the latest."""
    process = subprocess.Popen(args, **_marked(options))
    _register(process.pid)
    return process


def run(args: list[str], **options: Any) -> subprocess.CompletedProcess:
    """Run a process to its end as :func:`subprocess.run` does; it ends with this pytest process at the latest
    (by the mark in its environment: it has ended before anybody could be told its pid)."""
    return subprocess.run(args, **_marked(options))


def _marked(options: dict[str, Any]) -> dict[str, Any]:
    """Return ``options`` with this pytest's mark in the environment they give the process."""
    if MARK in os.environ and options.get("env") is not None:
        options = {**options, "env": {**options["env"], MARK: os.environ[MARK]}}
    return options


def remove_at_end(path: str | os.PathLike[str]) -> None:
    """Have the reaper delete the folder ``path`` once this pytest process has ended, if it is still there.

    For folders made outside pytest's ``tmp_path`` (whose own clean-up keeps the last few runs'):
    the fixture that made one deletes it at teardown, which a killed pytest never reaches.
    """
    _tell(f"dir {os.fspath(path)}")


def _register(pid: int) -> None:
    """Tell the reaper about ``pid`` (nothing outside pytest, e.g. in a benchmark)."""
    started = _start_time(pid)
    if started is not None:  # else it has ended already
        _tell(f"{pid} {started}")


def _tell(line: str) -> None:
    if _reaper is None or _reaper.stdin is None:
        return
    with _lock:
        try:
            _reaper.stdin.write(f"{line}\n".encode())
            _reaper.stdin.flush()
        except OSError:  # the reaper is gone (killed by hand): the mark still tells what is ours
            pass


# --- the reaper ---------------------------------------------------------------------------------

def _start_time(pid: int) -> int | None:
    """Return when process ``pid`` started (clock ticks since boot), or None when there is none."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def _processes() -> dict[int, tuple[int, int, bool]]:
    """Return every process as pid -> (parent pid, start time, whether it is a zombie)."""
    found = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                fields = Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            found[int(entry.name)] = (int(fields[1]), int(fields[19]), fields[0] == "Z")
    return found


def _carries(pid: int, mark: bytes) -> bool:
    try:
        return mark in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False


def ours(token: str, registered: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """Return (pid, start time) of the live processes this pytest started, and of their descendants."""
    processes = {pid: found for pid, found in _processes().items()
                 if not found[2] and pid != os.getpid() and not _carries(pid, f"{REAPER}=1".encode())}
    mark = f"{MARK}={token}".encode()
    found = {(pid, started) for pid, (_, started, _) in processes.items()
             if (pid, started) in registered or _carries(pid, mark)}
    while True:
        pids = {pid for pid, _ in found}
        more = {(pid, started) for pid, (parent, started, _) in processes.items() if parent in pids} - found
        if not more:
            return found
        found |= more


def _signal(targets: set[tuple[int, int]], sig: int) -> set[tuple[int, int]]:
    """Send ``sig`` to those of ``targets`` still running (same pid and start time); return them."""
    alive = {(pid, started) for pid, started in targets if _start_time(pid) == started}
    for pid, _ in alive:
        try:
            os.kill(pid, sig)
        except OSError:
            pass
    return alive


def reap(token: str, registered: set[tuple[int, int]]) -> None:
    """End what the pytest process of ``token`` started: SIGTERM, and SIGKILL after :data:`GRACE` seconds."""
    targets = _signal(ours(token, registered), signal.SIGTERM)
    deadline = time.monotonic() + GRACE
    while targets and time.monotonic() < deadline:
        time.sleep(0.1)
        processes = _processes()
        targets = {(pid, started) for pid, started in targets if processes.get(pid, (0, 0, True))[1:] == (started, False)}
    _signal(targets | ours(token, registered), signal.SIGKILL)


def main(token: str) -> None:
    """Read registrations from pytest until it ends, then reap and delete the folders it named."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    registered, folders = set(), []
    for line in sys.stdin.buffer:
        if line.startswith(b"dir "):
            folders.append(os.fsdecode(line[4:].rstrip(b"\n")))
            continue
        pid, started = line.split()
        registered.add((int(pid), int(started)))
    reap(token, registered)
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1])
