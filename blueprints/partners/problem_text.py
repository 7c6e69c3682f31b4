"""The partner pages' words for what went wrong with a delivery (hub.federation.problems)."""
from __future__ import annotations

from typing import Any

from blueprints.partners import bp
from hub.federation import problems


@bp.app_template_global()
def federation_problem(problem: dict[str, Any]) -> str:
    """Return a stored delivery problem in the reader's language."""
    return str(problems.explain(problem))
