"""gunicorn for TinyTeamsTicket behind nginx (compose service ``web``, and the smoke test).

Every value can be overridden from the environment (GUNICORN_*), so the same file serves a
two-core test machine and a larger server. No state lives in a worker process: sessions are in the
database, the cache in Redis, so ``web`` can be scaled to several replicas.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", min(2 * multiprocessing.cpu_count() + 1, 8)))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
# Uploads are buffered by nginx, so a request reaches gunicorn whole; 60 s covers slow reports.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so that a slow leak cannot grow without bound.
max_requests = 2000
max_requests_jitter = 200
# Only nginx talks to gunicorn; it sets X-Forwarded-For/-Proto.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "*")
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# The heartbeat files of the workers in memory, not on a possibly slow container disk.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
# gunicorn's control socket (for gunicornc) defaults to $HOME/.gunicorn/, which the image's user
# cannot create (its home is /app, owned by root): the master logged an error on every start. Off
# unless a writable path is given.
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
else:
    control_socket_disable = True
