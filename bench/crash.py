"""Crash-trial soak: kill -9 the worker many times under concurrent writers on PostgreSQL (issue 11).

    .venv/bin/python bench/crash.py                          # 5 trials of 20 kills, 4 writers: about 15 minutes
    .venv/bin/python bench/crash.py --trials 1 --kills 5     # a quick look

The trial itself is tests/crash.py, the same as tests/functional/test_crash_trials.py runs in
`make test` with 5 kills: writer processes publish notes through the services while the worker
(`flask hub worker`) is killed with SIGKILL at random moments and started again; then one last
worker catches up, and every confirmed note must be in the index exactly once, every
`note.published` event must have become exactly one delivery, and every delivery must have
reached the partner's inbox. Each trial runs on a fresh database of a durable PostgreSQL 15
server (fsync on). Prints one row per trial and the totals.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hub import create_app  # noqa: E402
from hub.config import TestConfig, _database_uri  # noqa: E402
from hub.extensions import db  # noqa: E402
from tests.crash import prepare, run_trial  # noqa: E402
from tests.federation.fixtures import DocumentServer  # noqa: E402
from tests.pg import start_server  # noqa: E402


def _app(url: str, folder: Path):
    config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    config.update(DATABASE_URL=url, SQLALCHEMY_DATABASE_URI=_database_uri(url), INSTANCE_PATH=str(folder / "bench"))
    app = create_app(config)
    with app.app_context():
        db.create_all()
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--writers", type=int, default=4)
    args = parser.parse_args()
    print(f"# {platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print("| trial | seed | kills | confirmed notes | lost or doubled | deliveries sent twice | seconds |")
    print("|---:|---:|---:|---:|---|---:|---:|")
    server = start_server(durable=True)
    totals = {"kills": 0, "confirmed": 0, "problems": 0, "resent": 0}
    try:
        for trial in range(1, args.trials + 1):
            url = server.create_database(f"crash{trial}")
            with tempfile.TemporaryDirectory(prefix="hub-crash-") as folder:
                app = _app(url, Path(folder))
                inbox = DocumentServer()
                try:
                    result = run_trial(app, url, Path(folder), inbox, prepare(app, inbox), writers=args.writers,
                                       kills=args.kills)
                finally:
                    inbox.close()
                    with app.app_context():
                        db.engine.dispose()
            server.drop_database(f"crash{trial}")
            problems = result.problems()
            print(f"| {trial} | {result.seed} | {result.kills} | {len(result.confirmed)} | "
                  f"{'; '.join(problems) or 'none'} | {result.resent} | {result.seconds:.0f} |", flush=True)
            totals["kills"] += result.kills
            totals["confirmed"] += len(result.confirmed)
            totals["problems"] += len(problems)
            totals["resent"] += result.resent
    finally:
        server.stop()
    print(f"\n{args.trials} trials: {totals['kills']} kills, {totals['confirmed']} confirmed notes, "
          f"{totals['problems']} problems, {totals['resent']} deliveries sent twice.")


if __name__ == "__main__":
    main()
