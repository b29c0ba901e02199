# TinyTeamsTicket: one image for the web server (gunicorn), the notification worker, the scheduler
# and the one-shot migrations (docker-compose.yml). No secret is baked in: the settings only get a
# throwaway SECRET_KEY for the build steps below; the real configuration comes from .env at run time.
# BASE_IMAGE: the official image; deploy/base_image.sh makes a stand-in from Debian packages where no
# image registry is reachable (deploy/container_smoke_test.sh, CI). It needs python, pip and apt-get.
ARG BASE_IMAGE=python:3.12-slim
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# GNU gettext for compilemessages.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app

WORKDIR /app

# Dependencies first, so that a code change does not reinstall them.
COPY requirements/base.txt requirements/base.txt
RUN pip install --no-cache-dir -r requirements/base.txt

COPY . .

# Build-only settings: a throwaway key (never used at run time), DEBUG off so that collectstatic
# writes the hashed ManifestStaticFilesStorage files that production serves.
# /app/var/attachments and /srv/static are the mount points of the named volumes `attachments` and
# `static`; created here and owned by `app`, so that new volumes start out writable for the app.
RUN SECRET_KEY=build-only-not-a-secret DEBUG=0 python manage.py compilemessages \
    && SECRET_KEY=build-only-not-a-secret DEBUG=0 python manage.py collectstatic --noinput \
    && mkdir -p /app/var/attachments /srv/static \
    && rm -f /app/var/huey.sqlite3 \
    && chown -R app:app /app/var /srv/static

USER app

EXPOSE 8000

# /healthz answers 503 until the database, Redis and the worker and scheduler heartbeats are fine.
# start-period covers the first scheduler heartbeat (once a minute). No curl in slim: Python.
HEALTHCHECK --interval=30s --timeout=10s --start-period=90s --retries=3 \
    CMD ["python", "deploy/healthcheck.py"]

CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py", "core.wsgi"]
