"""`make run` on a developer machine: the embedded default unless DATABASE_URL/REDIS_URL are set."""

from .base import *  # noqa: F403
from .base import env

# Off unless asked for (DEBUG=true): `make run` serves visitors, and a visitor never sees Django's
# debug pages (the URL list on a 404, tracebacks on a 500), only the product's error pages.
DEBUG = env.bool("DEBUG", default=False)
# Static files also straight from the app folders, so `manage.py runserver` works without a prior
# collectstatic (make run collects them anyway).
WHITENOISE_USE_FINDERS = True
WHITENOISE_MANIFEST_STRICT = False
