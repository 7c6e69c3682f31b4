"""`flask translate …` where there is no checkout (a deployed hub): a clear refusal, not a traceback."""
from __future__ import annotations

import shutil

from hub import cli, i18n


def test_extracting_outside_a_checkout_says_where_translations_are_made(app, tmp_path, monkeypatch):
    monkeypatch.setattr(cli, "ROOT", str(tmp_path))  # an installed hub: no babel.cfg beside the package
    for command in (["translate", "update"], ["translate", "init", "zh_Hant"], ["translate", "extract"]):
        result = app.test_cli_runner().invoke(args=command)
        assert result.exit_code == 1 and "in a checkout of the hub's source" in result.output, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
    assert list(tmp_path.iterdir()) == []


def test_compile_says_what_it_did(app, tmp_path, monkeypatch):
    monkeypatch.setattr(i18n, "TRANSLATIONS", tmp_path)
    result = app.test_cli_runner().invoke(args=["translate", "compile"])
    assert result.exit_code == 1 and "No catalogue to compile" in result.output

    target = tmp_path / "zh_Hans" / "LC_MESSAGES"
    target.mkdir(parents=True)
    shutil.copy(f"{cli.TRANSLATIONS}/zh_Hans/LC_MESSAGES/messages.po", target)
    first = app.test_cli_runner().invoke(args=["translate", "compile"])
    assert first.exit_code == 0 and "compiled" in first.output and (target / "messages.mo").exists()
    again = app.test_cli_runner().invoke(args=["translate", "compile"])
    assert again.exit_code == 0 and "Every catalogue is compiled already." in again.output
