"""WSGI entry point for servers: ``casesvc.wsgi:app``. The only module-level app."""

from casesvc.app import create_app

app = create_app()
