"""Settings for ``bench/run``: the production settings plus the devtools app, the query counter and
the floor view.

A separate module rather than an environment switch in ``core/settings.py``, so that no variable can
turn these instruments on in production by accident.
"""

from core.settings import *  # noqa: F403
from core.settings import INSTALLED_APPS, MIDDLEWARE

# The instruments, the data generator and benchmark_analysis live in devtools, which production
# settings leave out (DEBUG is off here).
if "devtools" not in INSTALLED_APPS:
    INSTALLED_APPS = [*INSTALLED_APPS, "devtools"]
MIDDLEWARE = ["devtools.bench.QueryCountMiddleware", *MIDDLEWARE]
ROOT_URLCONF = "bench.urls"
HEALTH_REQUIRE_WORKERS = False  # the benchmark measures the web tier; it starts no worker
