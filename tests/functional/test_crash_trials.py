"""Crash trials with real processes on PostgreSQL: kill -9 the worker while notes are written, lose nothing."""
from __future__ import annotations

import pytest

from hub.extensions import db
from tests.crash import prepare, run_trial
from tests.federation.fixtures import DocumentServer

pytestmark = pytest.mark.postgres


def test_killing_the_worker_again_and_again_loses_and_doubles_no_confirmed_write(make_app, postgres_database,
                                                                                 tmp_path):
    app = make_app(DATABASE_URL=postgres_database)
    inbox = DocumentServer()
    try:
        result = run_trial(app, postgres_database, tmp_path, inbox, prepare(app, inbox), writers=3, kills=5)
    finally:
        inbox.close()
        with app.app_context():
            db.engine.dispose()
    assert result.problems() == [], f"seed {result.seed}"
    assert result.kills == result.kills_while_writing == 5 and len(result.confirmed) >= 10
