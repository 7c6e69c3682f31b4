"""The one filter of text bound for XML."""
from __future__ import annotations

from lxml import etree

from blueprints.web.xmltext import xml_text


def test_characters_xml_cannot_carry_are_left_out_and_the_rest_kept():
    every = "".join(chr(c) for c in range(0x20)) + "a\ufffe\uffff\ud800中文\U0001F600\ue000\x7f"
    kept = xml_text(every)
    assert kept == "\t\n\ra中文\U0001F600\ue000\x7f"
    etree.Element("x").text = kept  # lxml takes it
