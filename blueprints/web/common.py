"""Helpers shared by the blueprints: turning domain errors into form errors."""
from __future__ import annotations

from flask_wtf import FlaskForm

from hub.services.errors import ServiceError


def apply_service_error(form: FlaskForm, error: ServiceError) -> None:
    """Show a service's refusal next to the field it concerns, or above the form."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)


MAX_PAGE = 10_000
MAX_ID = 2**63 - 1  # the largest id any database column here holds


def page_arg() -> int:
    """Return the ?page= number, between 1 and MAX_PAGE whatever was sent."""
    from flask import request

    page = request.args.get("page", 1, type=int) or 1
    return min(max(page, 1), MAX_PAGE)


def id_arg(name: str) -> int | None:
    """Return a query-string id, or None when it is missing or could not be a row's id."""
    from flask import request

    value = request.args.get(name, type=int)
    return value if value is not None and 0 < value <= MAX_ID else None


def within(limit: int):
    """A WTForms validator that stops a number beyond ±``limit`` before other checks run."""
    from flask_babel import lazy_gettext as _l
    from wtforms.validators import StopValidation

    def check(_form, field) -> None:
        if field.data is not None and abs(field.data) > limit:
            raise StopValidation(_l("This number is too large."))
    return check


def run_service(action, success: str) -> bool:
    """Run a service action, flashing its success or its refusal in the user's language."""
    from flask import flash

    from hub.extensions import db
    from hub.services.errors import ServiceError

    try:
        action()
    except ServiceError as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return False
    flash(success, "info")
    return True
