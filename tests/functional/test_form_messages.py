"""Every form's validation messages are in the reader's language, WTForms' own messages included.

Each form of the hub is filled in wrongly in three ways (everything empty, everything too long,
everything too short or not one of the choices or not an e-mail address) in a Chinese and in an
English request, and every message it answers with is checked: no Latin words in Chinese (WTForms'
own catalogue says "无效的 Email 地址。"), no Chinese in English.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import pytest
from flask_babel import refresh
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms.validators import Email, Length, NumberRange

import blueprints


def _forms() -> list[type[FlaskForm]]:
    """Return every form class defined anywhere on the web side (a new face's forms are found too)."""
    found = {}
    for module in pkgutil.walk_packages(blueprints.__path__, "blueprints."):
        for _, value in inspect.getmembers(importlib.import_module(module.name), inspect.isclass):
            if issubclass(value, FlaskForm) and value is not FlaskForm:
                found[f"{value.__module__}.{value.__name__}"] = value
    return [found[key] for key in sorted(found)]


def _wrong(form: FlaskForm, way: str) -> MultiDict:
    """Return form data that is wrong in ``way`` for every field that can be wrong that way."""
    data = MultiDict()
    for field in form:
        if field.type in ("CSRFTokenField", "SubmitField", "HiddenField", "FileField"):
            continue
        lengths = [v for v in field.validators if isinstance(v, Length)]
        numbers = [v for v in field.validators if isinstance(v, NumberRange)]
        if way == "empty":
            data[field.name] = ""
        elif way == "long":
            data[field.name] = "长" * ((lengths[0].max if lengths and lengths[0].max > 0 else 10) + 1)
            if numbers:
                data[field.name] = str((numbers[0].max or 10**6) + 1)
        else:
            short = lengths[0].min - 1 if lengths and lengths[0].min > 1 else 0
            data[field.name] = "not-an-address" if any(isinstance(v, Email) for v in field.validators) \
                else "x" * short if short else "no-such-choice"
            if numbers:
                data[field.name] = str((numbers[0].min or 0) - 1)
    return data


def _messages(app, form_class: type[FlaskForm], locale: str) -> list[str]:
    messages = []
    for way in ("empty", "long", "short"):
        with app.test_request_context(f"/?lang={locale}", method="POST"):
            refresh()  # the test's app context outlives the request: forget the locale of the last one
            form = form_class(formdata=None, meta={"csrf": False})
            data = _wrong(form, way)
            form = form_class(formdata=data, meta={"csrf": False})
            for field in form:
                if getattr(field, "choices", None) == [] and field.type in ("SelectField", "RadioField"):
                    field.choices = [("a", "A")]
            form.validate()
            messages += [str(m) for errors in form.errors.values() for m in errors]
    return messages


@pytest.mark.parametrize("form_class", _forms(), ids=lambda form: form.__name__)
def test_validation_messages_are_in_the_readers_language(app, form_class):
    chinese = _messages(app, form_class, "zh_Hans")
    english = _messages(app, form_class, "en")
    assert len(chinese) == len(english)
    assert [m for m in chinese if re.search(r"[A-Za-z]{2,}", m)] == []
    assert [m for m in english if re.search(r"[\u3400-\u9fff]", m)] == []


def test_every_form_is_checked():
    assert len(_forms()) >= 20
