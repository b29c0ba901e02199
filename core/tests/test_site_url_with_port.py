"""A site on a port of its own (SITE_URL=https://tickets.example.com:8443): nginx hands the app the
host *and port* the browser used, so CSRF's origin check and the Microsoft sign-in's redirect address
are right, and the Teams package's Application ID URI names the same domain as its validDomains."""

import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.urls import reverse

from accounts.tests.entra_fixtures import BEGIN, TIMEOUT
from accounts.tests.test_entra_settings import environment
from teams_app.tests.package_checks import APP_ID, CLIENT_ID, TEAMS_SETTINGS, package_problems

LOGIN = reverse("accounts:login")


def csrf_token(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


@pytest.mark.usefixtures("transactional_db")
def test_a_form_posted_from_the_sites_own_origin_with_a_port_is_accepted(nginx_proxy, employee):
    browser = nginx_proxy.client()
    page = browser.get(nginx_proxy.url + LOGIN, timeout=TIMEOUT)

    # Browsers send Origin with every POST; CSRF compares it with the host the app was asked for.
    answer = browser.post(
        nginx_proxy.url + LOGIN,
        data={"csrfmiddlewaretoken": csrf_token(page.text), "username": "erika", "password": "erika-pass-123"},
        headers={"Origin": nginx_proxy.url, "Referer": nginx_proxy.url + LOGIN},
        allow_redirects=False,
        timeout=TIMEOUT,
    )

    assert settings.CSRF_TRUSTED_ORIGINS == []
    assert answer.status_code == 302, answer.text[:300]


@pytest.mark.usefixtures("transactional_db")
def test_the_microsoft_sign_in_comes_back_to_the_address_with_its_port(nginx_proxy, entra):
    browser = nginx_proxy.client()
    page = browser.get(nginx_proxy.url + LOGIN, timeout=TIMEOUT)

    begin = browser.post(
        nginx_proxy.url + BEGIN,
        data={"csrfmiddlewaretoken": csrf_token(page.text)},
        allow_redirects=False,
        timeout=TIMEOUT,
    )

    assert begin.status_code == 302
    redirect_uri = parse_qs(urlsplit(begin.headers["Location"]).query)["redirect_uri"][0]
    assert redirect_uri == f"{nginx_proxy.url}/auth/complete/azuread-v2-tenant-oauth2/"


def teams_package(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess:
    """`manage.py teams_package` in a fresh process: settings are computed from the environment at start."""
    return subprocess.run(  # fixed arguments: our own management command
        [sys.executable, "manage.py", "teams_package", "--output", str(tmp_path / "teams-app.zip")],
        env=environment(**variables),
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("site_url", "domain"),
    [("https://tickets.example.com:8443", "tickets.example.com:8443"), ("https://tickets.example.com", None)],
    ids=["with-port", "without-port"],
)
def test_the_default_application_id_uri_names_the_sites_domain_with_its_port(tmp_path, site_url, domain):
    domain = domain or "tickets.example.com"
    variables = {name: value for name, value in TEAMS_SETTINGS.items() if name != "ENTRA_APP_ID_URI"}
    variables |= {
        "SITE_URL": site_url,
        "TEAMS_DEVELOPER_URL": f"{site_url}/",
        "TOKEN_ENCRYPTION_KEY": "yFv0Mt1cXU0aJ5y0m3n3mW2J9iYwq2U2q1uQ4qkq0iE=",
        "ALLOWED_HOSTS": "tickets.example.com",
    }

    result = teams_package(tmp_path, **variables)

    assert result.returncode == 0, result.stderr
    package = (tmp_path / "teams-app.zip").read_bytes()
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(package)).read("manifest.json"))
    assert manifest["id"] == APP_ID
    assert manifest["validDomains"] == [domain]
    assert manifest["webApplicationInfo"] == {"id": CLIENT_ID, "resource": f"api://{domain}/{CLIENT_ID}"}
    assert package_problems(package) == []
