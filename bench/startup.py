"""What starting the hub costs: importing the app, ``flask --help`` and a simple CLI command, before and after.

    .venv/bin/python bench/startup.py                  # this worktree against main, 3 rounds of 5 runs each
    .venv/bin/python bench/startup.py --before HEAD~2 --rounds 2 --repeat 3

The other side is ``git archive REV`` unpacked into a temporary folder (with this worktree's compiled
catalogues); both run with this worktree's virtualenv, alternately, so a busy machine slows both alike.
Prints the median wall-clock and CPU time (user + system, of the child) per command, the largest
resident size after ``import wsgi``, whether pypinyin was imported, and the first slug's cost.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PROBE = """
import resource, sys, time
started = time.process_time()
import wsgi
loaded = time.process_time()
at_start = ("pypinyin" in sys.modules, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
from hub.services import slugs
slugs.slug_for("重庆")
print(round((loaded - started) * 1e3), *at_start, round((time.process_time() - loaded) * 1e3))
"""


def commands() -> dict[str, list[str]]:
    """Return the commands timed, by the name printed."""
    return {"python -c 'import wsgi'": [sys.executable, "-c", "import wsgi"],
            "flask --help": [str(BIN / "flask"), "--help"],
            "flask hub mail-status": [str(BIN / "flask"), "hub", "mail-status"]}


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Run ``command`` once; return its wall-clock and CPU milliseconds."""
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall * 1e3, (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1e3


def unpack(rev: str, into: Path) -> Path:
    """Unpack ``rev`` of this repository into ``into`` with this worktree's compiled catalogues."""
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    for mo in ROOT.glob("translations/*/LC_MESSAGES/messages.mo"):
        shutil.copy(mo, into / mo.relative_to(ROOT))
    return into


def main() -> None:
    """Time both sides alternately and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="main", help="the revision to compare with (default main)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=5, help="runs of each command per round")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hub-startup-") as folder:
        before = Path(folder) / "before"
        before.mkdir()
        sides = {args.before: unpack(args.before, before), "this worktree": ROOT}
        env = {**os.environ, "HUB_ENV": "development", "HUB_INSTANCE_PATH": str(Path(folder) / "instance"),
               "FLASK_APP": "wsgi"}
        env.pop("HUB_DATABASE_URL", None)
        runs: dict[tuple[str, str], list[tuple[float, float]]] = {}
        probes: dict[str, list[str]] = {}
        for _round in range(args.rounds):
            for side, cwd in sides.items():
                for name, command in commands().items():
                    runs.setdefault((side, name), []).extend(timed(command, cwd, env) for _ in range(args.repeat))
                probes.setdefault(side, []).append(subprocess.run([sys.executable, "-c", PROBE], cwd=cwd, env=env,
                                                                  capture_output=True, text=True, check=True).stdout)
    print(f"load average {os.getloadavg()[0]:.1f}; {args.rounds} rounds of {args.repeat} runs, medians")
    for (side, name), times in runs.items():
        print(f"{side:>14}  {name:<26} wall {statistics.median(w for w, _ in times):6.0f} ms"
              f"  CPU {statistics.median(c for _, c in times):6.0f} ms")
    for side, lines in probes.items():
        fields = [line.split() for line in lines]
        print(f"{side:>14}  import wsgi in-process CPU {statistics.median(int(f[0]) for f in fields)} ms,"
              f" pypinyin loaded: {fields[0][1]}, max RSS {statistics.median(int(f[2]) for f in fields)} MB,"
              f" first slug after it {statistics.median(int(f[3]) for f in fields)} ms CPU")


if __name__ == "__main__":
    main()
