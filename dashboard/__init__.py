"""The staff dashboard: who watches and approves. FastAPI + Jinja2, German UI.

    from dashboard import create_app
    app = create_app(settings, db=db, celery=celery, broker_url=url)
"""

from .app import DashboardConfigError, create_app

__all__ = ["DashboardConfigError", "create_app"]
