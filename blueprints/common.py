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
