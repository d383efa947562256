"""The domain: what an episode is and what happens to it (no Celery, HTTP or subprocess)."""

from . import control_models as _control_models  # noqa: F401  (registers its tables)
