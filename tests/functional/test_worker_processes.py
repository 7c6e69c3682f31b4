"""The worker as a real process: one per instance, and `flask hub serve` never leaves it behind."""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from pathlib import Path

import pytest

from tests import spawn
from tests.processes import FLASK, alive, free_port, hub_env, start, wait_until_gone, worker_pid


@pytest.fixture(scope="module")
def initialised(tmp_path_factory) -> Path:
    """Return an instance folder made once by `flask hub init` and `flask hub reindex`, for each test to copy.

    With its index already built, a worker's first round is short, so a stop signal finds it waiting
    between rounds even on a loaded machine (a rebuild would make the stop wait for the round).
    """
    folder = tmp_path_factory.mktemp("template")
    for command in (["hub", "init"], ["hub", "reindex"]):
        spawn.run([*FLASK, *command], env=hub_env(folder), check=True, capture_output=True)
    return folder


@pytest.fixture
def instance(tmp_path, initialised) -> Path:
    """Return a fresh instance folder holding an initialised database and its search index."""
    folder = tmp_path / "instance"
    shutil.copytree(initialised, folder, symlinks=True)
    return folder


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_the_worker_stops_at_once_on_a_stop_signal(instance, sig):
    # The wait between rounds must not delay a stop: an hour's poll, and the worker gone well before it
    # (the bound leaves room for a loaded machine, far below what waiting out the poll would take).
    env = {**hub_env(instance), "HUB_WORKER_POLL_SECONDS": "3600"}
    worker = start(["hub", "worker"], env)
    time.sleep(1.0)  # into the wait between two rounds
    worker.send_signal(sig)
    started = time.monotonic()
    output, _ = worker.communicate(timeout=120)
    assert worker.returncode == 0, output
    assert "Traceback" not in output and "worker stopped" in output
    assert time.monotonic() - started < 60


def test_a_second_worker_on_the_same_instance_refuses_to_start(instance):
    env = hub_env(instance)
    first = start(["hub", "worker"], env)
    try:
        second = spawn.run([*FLASK, "hub", "worker"], env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 1
        assert "The worker does not start" in second.stderr and f"pid {first.pid}" in second.stderr
        assert "already uses this instance" in second.stderr and "Traceback" not in second.stderr
    finally:
        first.send_signal(signal.SIGKILL)  # the operating system frees the lock of a killed worker
        first.wait()
    again = start(["hub", "worker"], env)
    again.send_signal(signal.SIGTERM)
    assert again.wait(timeout=20) == 0


@contextlib.contextmanager
def serving(instance, **popen):
    """Run ``flask hub serve`` on a free port; kill it if a test leaves it running (its worker then stops too)."""
    serve = start(["hub", "serve", "--port", str(free_port())], hub_env(instance), **popen)
    try:
        yield serve
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.communicate()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_serve_stops_its_worker_on_a_stop_signal(instance, sig):
    with serving(instance) as serve:
        worker = worker_pid(instance)
        assert alive(worker) and worker != serve.pid
        serve.send_signal(sig)
        output, _ = serve.communicate(timeout=40)
    assert "Hub and worker stopped." in output and "worker stopped" in output
    assert wait_until_gone(worker), "the worker outlived flask hub serve"


def test_serve_stops_on_sigint_even_when_started_with_sigint_ignored(instance):
    # What a shell without job control does to a command it starts in the background (`make run &`
    # in a script, a CI step): Python then never turns SIGINT into KeyboardInterrupt by itself.
    with serving(instance, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) as serve:
        worker = worker_pid(instance)
        serve.send_signal(signal.SIGINT)
        output, _ = serve.communicate(timeout=40)
    assert "Hub and worker stopped." in output
    assert wait_until_gone(worker), "the worker outlived flask hub serve"


def test_the_worker_stops_when_serve_is_killed(instance):
    serve = start(["hub", "serve", "--port", str(free_port())], hub_env(instance))
    worker = worker_pid(instance)
    os.kill(serve.pid, signal.SIGKILL)
    serve.communicate(timeout=20)
    assert wait_until_gone(worker), "an orphaned worker kept running after flask hub serve was killed"
