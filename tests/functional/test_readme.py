"""The README's first-hour instructions stay true: its example import line imports, its commands exist."""
from __future__ import annotations

import json
import re
from pathlib import Path

from tests import spawn

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_example_line_imports(runner, tmp_path):
    runner.invoke(args=["hub", "demo"])
    line = re.search(r"```json\n(\{.*\})\n```", README).group(1)
    json.loads(line)
    source = tmp_path / "notes.jsonl"
    source.write_text(line + "\n", encoding="utf-8")
    result = runner.invoke(args=["hub", "import-notes", str(source)])
    assert result.exit_code == 0, result.output
    assert "Imported 1 note, skipped 0 lines." in result.output


def test_the_commands_it_names_exist(app):
    commands = app.cli.commands["hub"].commands
    for name in re.findall(r"flask hub ([a-z-]+)", README):
        assert name in commands, name
    assert "--port" in [opt for param in commands["serve"].params for opt in param.opts]


def test_the_make_targets_it_names_exist():
    for target in set(re.findall(r"`(?:PORT=\d+ )?make ([a-z-]+)`", README)):
        dry = spawn.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True)
        assert dry.returncode == 0, (target, dry.stderr)
