"""Lazily translated messages are text: printed escaped, whatever their placeholders hold."""
from __future__ import annotations

from flask import render_template_string
from flask_babel import lazy_gettext as _l
from markupsafe import Markup


def test_a_lazy_message_with_markup_in_its_placeholder_is_printed_escaped(app):
    message = _l("No hub was found at this address (%(reason)s). Check the address and try again.",
                 reason='<img src=x onerror="alert(1)">')
    with app.test_request_context("/?lang=en"):
        page = render_template_string("<p>{{ message }}</p>", message=message)
        assert "<img" not in page and "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page
        assert str(Markup(message)) == str(Markup.escape(str(message)))
