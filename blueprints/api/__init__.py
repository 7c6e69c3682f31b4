"""The JSON API for partner systems (/api/v1), its OpenAPI document, tokens and rate limits."""
from blueprints.api import openapi, resources, views  # noqa: F401  (their routes join the blueprint)
from blueprints.api.blueprint import bp

__all__ = ["bp"]
