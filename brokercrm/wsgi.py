"""WSGI entry point (``brokercrm serve`` runs it under gunicorn)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokercrm.settings")
application = get_wsgi_application()
