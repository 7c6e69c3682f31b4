"""The one way views handle a service's refusal (a :class:`~hub.services.errors.ServiceError`).

A view runs its service calls inside ``with attempt(...) as outcome:``. When a service refuses,
:func:`attempt` rolls the session back (here, once) and shows the refusal in the person's language:

- with ``form=``: beside the field the refusal names, or above the form, for the page the view
  renders again;
- otherwise: as an error flash message on the page the view goes to next;
- refusals of a type listed in ``answered_by_caller`` are only rolled back: the view answers them
  itself, with a page of its own (the privacy check, an expired link) or, for a JSON caller, with
  :func:`problem`.

Afterwards ``outcome`` is true when every call went through, and ``outcome.error`` holds the
refusal. No view catches ``ServiceError`` itself. :func:`submitted` does the same for a posted
form: its validators first, then the service calls, every refusal shown on the form.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import Response, flash
from flask_wtf import FlaskForm

from blueprints.web.errors import problem_response
from hub.extensions import db
from hub.services.errors import ServiceError


@dataclass
class Outcome:
    """What came of the service calls inside :func:`attempt`: true unless a service refused.

    From :func:`submitted`, also false when the form's own validators refused it (``valid``
    false, no ``error``).
    """

    error: ServiceError | None = None
    valid: bool = True

    def __bool__(self) -> bool:
        return self.valid and self.error is None


@contextmanager
def attempt(*, form: FlaskForm | None = None,
            answered_by_caller: tuple[type[ServiceError], ...] = ()) -> Iterator[Outcome]:
    """Run the block's service calls; on a refusal roll back and show it (see the module docstring)."""
    outcome = Outcome()
    try:
        yield outcome
    except ServiceError as error:
        db.session.rollback()
        outcome.error = error
        if isinstance(error, answered_by_caller):
            return
        if form is not None:
            _show_on_form(form, error)
        else:
            flash(str(error.message), "error")


def submitted(form: FlaskForm, action: Callable[[], Any], *,
              answered_by_caller: tuple[type[ServiceError], ...] = ()) -> Outcome:
    """Validate a posted ``form``; when it is valid, run ``action()`` as ``attempt(form=form)`` would."""
    if not form.validate_on_submit():
        return Outcome(valid=False)
    with attempt(form=form, answered_by_caller=answered_by_caller) as outcome:
        action()
    return outcome


def _show_on_form(form: FlaskForm, error: ServiceError) -> None:
    """Show a refusal next to the field it concerns, or above the form."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)


def problem(error: ServiceError, status: int = 400, **extensions: Any) -> Response:
    """Answer a JSON caller with an RFC 9457 problem document in its language."""
    return problem_response(status, str(error.message), **extensions)
