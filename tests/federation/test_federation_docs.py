"""The federation documentation names every federation setting and every federation URL."""
from __future__ import annotations

from pathlib import Path

from hub.config import Config

DOC = Path(__file__).resolve().parents[2] / "README.md"


def test_every_federation_setting_is_documented():
    text = DOC.read_text()
    settings = [name for name in dir(Config) if name.startswith("FEDERATION_")]
    assert settings and [s for s in settings if f"`HUB_{s}`" not in text] == []


def test_every_federation_url_is_documented(app):
    text = DOC.read_text()
    rules = [r.rule for r in app.url_map.iter_rules() if r.endpoint.startswith("federation.")]
    documented = [r.replace("<int:note_id>", "<id>") for r in rules]
    assert [r for r in documented if r.split("<")[0].rstrip("/") not in text] == []
