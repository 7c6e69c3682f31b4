"""Run ``flask ARGS`` and kill it with SIGKILL just before a given SQL statement: a crash at a known point.

``python -m tests.killed PATTERN [--after PROGRAM] ARGS...``: the process kills itself (``kill -9``,
nothing runs after it, as with a power cut or the OOM killer) just before the first SQL statement
containing PATTERN; with ``--after PROGRAM``, only once a ``PROGRAM`` subprocess (``psql``) has finished.
The tests then look at what the interrupted command left and run it again.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import sqlalchemy as sa
from flask.cli import main


def arm(pattern: str, after: str | None) -> None:
    """Install the kill: before the first statement with ``pattern`` once ``after`` (if given) has run."""
    armed = [after is None]
    run = subprocess.run

    def watched_run(command, *args, **kwargs):
        result = run(command, *args, **kwargs)
        if after and os.path.basename(str(command[0])) == after:
            armed[0] = True
        return result

    @sa.event.listens_for(sa.engine.Engine, "before_cursor_execute")
    def kill_before(_conn, _cursor, statement, *_rest):
        if armed[0] and pattern in statement:
            os.kill(os.getpid(), signal.SIGKILL)

    subprocess.run = watched_run


if __name__ == "__main__":
    pattern, rest = sys.argv[1], sys.argv[2:]
    after = None
    if rest[:1] == ["--after"]:
        after, rest = rest[1], rest[2:]
    arm(pattern, after)
    sys.argv = ["flask", *rest]
    main()
