"""Operations: liveness (/healthz), readiness (/readyz) and Prometheus metrics (/metrics)."""
from blueprints.ops.views import bp

__all__ = ["bp"]
