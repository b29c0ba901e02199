"""Headers, cookies, CSRF, error pages and production settings (C10, C12, C17)."""

import io
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import include, path, reverse
from PIL import Image

from tickets import services
from tickets.attachments import check_upload
from tickets.models import Attachment

PROJECT_ROOT = Path(settings.BASE_DIR)
APPS = ["core", "accounts", "tickets", "teams_app"]
# Views that may skip CSRF, each with the reason. Empty: every POST needs a token.
# The bot endpoint: the Bot Connector posts without cookies; every request carries its signed JWT instead.
CSRF_EXEMPT_ALLOWED: set[str] = {"teams_app/bot_views.py"}


# --- A view that fails, for the error-page test ---------------------------------------------------


class LeakyError(RuntimeError):
    pass


def failing_view(request):
    raise LeakyError(f"database password is {settings.SECRET_KEY}")


urlpatterns = [
    path("boom/", failing_view),
    path("", include("core.urls")),
]


# --- C10: CSRF ------------------------------------------------------------------------------------


def project_python_files():
    for app in APPS:
        for file in sorted((PROJECT_ROOT / app).rglob("*.py")):
            relative = file.relative_to(PROJECT_ROOT)
            if "tests" in relative.parts or "migrations" in relative.parts:
                continue
            yield relative, file


def test_no_csrf_exempt_outside_the_allow_list():
    files = list(project_python_files())
    using = {str(relative) for relative, file in files if "csrf_exempt" in file.read_text(encoding="utf-8")}

    assert len(files) > 20, "the scan must actually see the project's modules"
    assert using <= CSRF_EXEMPT_ALLOWED, f"csrf_exempt used in {sorted(using - CSRF_EXEMPT_ALLOWED)}"


def test_csrf_middleware_is_active():
    assert "django.middleware.csrf.CsrfViewMiddleware" in settings.MIDDLEWARE


def test_post_without_csrf_token_is_refused(employee, ticket):
    client = Client(enforce_csrf_checks=True)
    client.force_login(employee)

    response = client.post(reverse("tickets:comment", args=[ticket.pk]), {"body": "forged"})

    assert response.status_code == 403
    assert not ticket.comments.exists()


def test_post_with_csrf_token_from_the_page_is_accepted(employee, ticket):
    client = Client(enforce_csrf_checks=True)
    client.force_login(employee)
    page = client.get(ticket.get_absolute_url()).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)

    response = client.post(reverse("tickets:comment", args=[ticket.pk]), {"body": "real", "csrfmiddlewaretoken": token})

    assert response.status_code == 302
    assert ticket.comments.get().body == "real"


# --- C17: headers on every response ---------------------------------------------------------------


@pytest.fixture
def attachment(ticket, employee):
    buffer = io.BytesIO()
    Image.new("RGB", (2, 2)).save(buffer, "PNG")
    upload = SimpleUploadedFile("s.png", buffer.getvalue(), content_type="image/png")
    services.ticket_attach(ticket=ticket, user=employee, files=[check_upload(upload)])
    return Attachment.objects.get(ticket=ticket)


def body_of(response) -> bytes:
    """The whole body of a response. Reading a download to the end makes the test client close it
    (and its file); calling ``close()`` again here would also close the test's database connection."""
    return b"".join(response.streaming_content) if response.streaming else response.content


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


PAGES = [
    ("anonymous", "accounts:login"),
    ("anonymous", "dashboard"),  # a redirect to the sign-in page
    ("anonymous", "health"),
    ("anonymous", "/no-such-page/"),
    ("employee", "dashboard"),
    ("employee", "tickets:list"),
    ("employee", "tickets:new"),
    ("employee", "detail"),
    ("employee", "attachment"),
    ("employee", "accounts:profile"),
    ("employee", "accounts:password_change"),
    ("employee", "/tickets/999999/"),
    ("agent", "dashboard"),
    ("agent", "tickets:list"),
    ("agent", "detail"),
]


@pytest.mark.parametrize(("who", "name"), PAGES)
def test_security_headers_on_every_response(client, employee, agent, ticket, attachment, who, name):
    if who != "anonymous":
        client.force_login({"employee": employee, "agent": agent}[who])
    url = {"detail": ticket.get_absolute_url(), "attachment": attachment.get_absolute_url()}.get(name)
    url = url or (name if name.startswith("/") else reverse(name))

    response = client.get(url)
    body_of(response)

    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    csp = csp_directives(response["Content-Security-Policy"])
    assert csp["frame-ancestors"] == ["'none'"]
    scripts = csp.get("script-src", csp["default-src"])
    assert "'unsafe-inline'" not in scripts
    assert "'unsafe-eval'" not in scripts
    assert "*" not in scripts
    assert csp["object-src" if "object-src" in csp else "default-src"] == ["'none'"]


@pytest.mark.parametrize("name", ["accounts:login", "dashboard", "tickets:list", "tickets:new", "detail"])
def test_every_script_tag_is_external_or_carries_the_nonce(client, agent, ticket, name):
    if name != "accounts:login":
        client.force_login(agent)
    url = ticket.get_absolute_url() if name == "detail" else reverse(name)

    response = client.get(url)

    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"])
    tags = re.findall(r"<script\b[^>]*>", response.content.decode())
    assert tags
    for tag in tags:
        assert " src=" in tag or (nonce and f'nonce="{nonce.group(1)}"' in tag), tag
    # Inline event handlers would need 'unsafe-inline' and are blocked by the policy: none may exist.
    assert re.findall(r"<[a-z][^>]*\son[a-z]+\s*=", response.content.decode(), flags=re.IGNORECASE) == []


def test_session_cookie_is_http_only(client, employee):
    response = client.post(
        reverse("accounts:login"), {"username": "erika", "password": "erika-pass-123"}, REMOTE_ADDR="10.7.7.7"
    )

    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert response.status_code == 302
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert settings.SESSION_COOKIE_HTTPONLY is True


# --- C12: no tracebacks ---------------------------------------------------------------------------


def test_debug_is_off_under_tests():
    assert settings.DEBUG is False


@pytest.mark.urls(__name__)
def test_exception_in_a_view_gives_the_plain_500_page(db, caplog):
    client = Client(raise_request_exception=False)

    response = client.get("/boom/")

    html = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in html
    for leak in ("Traceback", "LeakyError", "database password", settings.SECRET_KEY, "failing_view", "core/"):
        assert leak not in html
    assert "LeakyError" in caplog.text  # the details go to the log, for the operators


def test_404_page_does_not_list_the_url_patterns(client, db):
    response = client.get("/admin-secret-area/")

    html = response.content.decode()
    assert response.status_code == 404
    assert "Using the URLconf" not in html
    assert "tickets/" not in html


# --- Production settings (check --deploy) and a missing SECRET_KEY -------------------------------


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(  # fixed arguments: our own manage.py
        [sys.executable, "manage.py", *args],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def base_env() -> dict[str, str]:
    """The test process's environment without any of the app's own settings variables."""
    # DJANGO_ALLOW_ASYNC_UNSAFE comes from the test configuration (Playwright) and is no deployment's.
    ours = {
        "DEBUG",
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "HTTPS",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
    }
    return {key: value for key, value in os.environ.items() if key not in ours}


def production_env() -> dict[str, str]:
    return {
        **base_env(),
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64)[:50],
        "ALLOWED_HOSTS": "tickets.example.com",
        "HTTPS": "1",
    }


def reported_issues(result: subprocess.CompletedProcess) -> set[str]:
    return set(re.findall(r"\(([a-z_]+\.[EWC]\d+)\)", result.stdout + result.stderr))


def test_check_deploy_reports_nothing_but_the_known_hsts_preload_warning():
    result = run_manage("check", "--deploy", env=production_env())

    assert result.returncode == 0, result.stderr
    assert reported_issues(result) <= {"security.W021"}, result.stdout + result.stderr


def test_check_deploy_is_clean_in_production_mode():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())

    assert result.returncode == 0, result.stdout + result.stderr


def test_production_mode_sets_secure_cookies_and_hsts():
    script = (
        "from django.conf import settings; "
        "print(settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, settings.SECURE_SSL_REDIRECT, "
        "settings.SECURE_HSTS_SECONDS > 0, settings.DEBUG)"
    )

    result = run_manage("shell", "--verbosity", "0", "-c", script, env=production_env())

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True", "True", "False"]


def test_missing_secret_key_with_debug_off_fails_loudly():
    result = run_manage("check", env={**base_env(), "DEBUG": "0", "ALLOWED_HOSTS": "tickets.example.com"})

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
    assert "ImproperlyConfigured" in result.stderr


def test_missing_secret_key_is_fine_in_debug_mode():
    result = run_manage("check", env={**base_env(), "DEBUG": "1"})

    assert result.returncode == 0, result.stderr


# --- Health check ---------------------------------------------------------------------------------


def test_healthz_returns_json(client, db, settings):
    settings.HEALTH_REQUIRE_WORKERS = False
    response = client.get(reverse("health"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["status"] == "ok"
    assert response.json()["database"] == "ok"
    assert "no-cache" in response["Cache-Control"]


def test_healthz_needs_no_sign_in_and_refuses_post(client, db):
    assert reverse("health") == "/healthz"
    assert client.post(reverse("health")).status_code == 405
