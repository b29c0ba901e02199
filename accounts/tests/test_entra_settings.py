"""Microsoft sign-in configuration is all or nothing, and production refuses to store tokens without
their own key. Settings are read at import, so each case starts a fresh Python process."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

PROJECT_ROOT = Path(settings.BASE_DIR)
TENANT = "5f1c0e2a-7b3d-4c8e-9a10-2b3c4d5e6f70"
CLIENT = "c1c1c1c1-0000-4000-8000-00000000cafe"
KEY = "yFv0Mt1cXU0aJ5y0m3n3mW2J9iYwq2U2q1uQ4qkq0iE="  # a valid Fernet key, for tests only

SHOW_SETTINGS = """
import json, django
django.setup()
from django.conf import settings
prefix = "SOCIAL_AUTH_AZUREAD_V2_TENANT_OAUTH2_"
print(json.dumps({
    "ENTRA_ENABLED": settings.ENTRA_ENABLED,
    "AUTHENTICATION_BACKENDS": settings.AUTHENTICATION_BACKENDS,
    "social": {name[len(prefix):]: getattr(settings, name) for name in dir(settings) if name.startswith(prefix)},
    "form_action": settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"],
}))
"""


def environment(**variables: str) -> dict[str, str]:
    """This process's environment without any of the app's settings, plus `variables`."""
    kept = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("ENTRA_", "SOCIAL_AUTH_"))
        and name not in {"DEBUG", "SECRET_KEY", "TOKEN_ENCRYPTION_KEY", "GRAPH_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    return {
        **kept,
        "DJANGO_SETTINGS_MODULE": "core.settings",
        "DEBUG": "0",
        "SECRET_KEY": "settings-test-secret-key-0123456789-abcdefghijklmnop",
        "ALLOWED_HOSTS": "tickets.example.com",
        **variables,
    }


def load_settings(**variables: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # fixed arguments: our own settings module
        [sys.executable, "-c", SHOW_SETTINGS],
        env=environment(**variables),
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def loaded(**variables: str) -> dict:
    result = load_settings(**variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_without_entra_variables_microsoft_sign_in_is_off():
    configured = loaded()

    assert configured["ENTRA_ENABLED"] is False
    assert "accounts.entra.EntraIDBackend" not in configured["AUTHENTICATION_BACKENDS"]
    assert configured["form_action"] == ["'self'"]


def test_a_complete_configuration_turns_microsoft_sign_in_on():
    configured = loaded(
        ENTRA_TENANT_ID=TENANT, ENTRA_CLIENT_ID=CLIENT, ENTRA_CLIENT_SECRET="s3cret", TOKEN_ENCRYPTION_KEY=KEY
    )

    assert configured["ENTRA_ENABLED"] is True
    assert configured["AUTHENTICATION_BACKENDS"][-1] == "accounts.entra.EntraIDBackend"
    social = configured["social"]
    assert (social["KEY"], social["SECRET"], social["TENANT_ID"]) == (CLIENT, "s3cret", TENANT)
    assert social["AUTHORITY_HOST"] == "login.microsoftonline.com"
    assert social["USE_PKCE"] is True
    assert {"User.Read", "email"} <= set(social["SCOPE"])
    assert "AUTHORIZATION_URL" not in social  # the real Entra: social-core's own endpoints
    # The login form's POST redirects to Microsoft; CSP form-action applies to that redirect too.
    assert configured["form_action"] == ["'self'", "https://login.microsoftonline.com"]


def test_a_local_authority_url_points_every_endpoint_at_it():
    configured = loaded(
        ENTRA_TENANT_ID=TENANT,
        ENTRA_CLIENT_ID=CLIENT,
        ENTRA_CLIENT_SECRET="s3cret",
        TOKEN_ENCRYPTION_KEY=KEY,
        ENTRA_AUTHORITY_URL="http://127.0.0.1:8765/",
    )

    base = f"http://127.0.0.1:8765/{TENANT}"
    social = configured["social"]
    assert social["AUTHORIZATION_URL"] == f"{base}/oauth2/v2.0/authorize"
    assert social["ACCESS_TOKEN_URL"] == f"{base}/oauth2/v2.0/token"
    assert social["OPENID_CONFIGURATION_URL"] == f"{base}/v2.0/.well-known/openid-configuration"
    assert social["JWKS_URI"] == f"{base}/discovery/v2.0/keys"
    assert configured["form_action"] == ["'self'", "http://127.0.0.1:8765"]


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        pytest.param({"ENTRA_TENANT_ID": TENANT}, ["ENTRA_CLIENT_ID", "ENTRA_CLIENT_SECRET"], id="only tenant"),
        pytest.param({"ENTRA_CLIENT_ID": CLIENT, "ENTRA_CLIENT_SECRET": "s3cret"}, ["ENTRA_TENANT_ID"], id="no tenant"),
        pytest.param({"ENTRA_TENANT_ID": TENANT, "ENTRA_CLIENT_ID": CLIENT}, ["ENTRA_CLIENT_SECRET"], id="no secret"),
    ],
)
def test_half_a_configuration_refuses_to_start_and_names_what_is_missing(given, missing):
    result = load_settings(**given)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    error = result.stderr.strip().splitlines()[-1]
    for name in missing:
        assert name in error
    for name in given:
        assert name not in error


def test_manage_check_with_only_the_tenant_fails_naming_the_missing_variables():
    result = subprocess.run(  # fixed arguments: our own manage.py
        [sys.executable, "manage.py", "check"],
        env=environment(ENTRA_TENANT_ID=TENANT),
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode != 0
    assert "ENTRA_CLIENT_ID" in result.stderr
    assert "ENTRA_CLIENT_SECRET" in result.stderr


@pytest.mark.parametrize("tenant", ["contoso.onmicrosoft.com", "common", "organizations", "not-a-guid"])
def test_a_tenant_that_is_not_a_guid_is_refused(tenant):
    result = load_settings(
        ENTRA_TENANT_ID=tenant, ENTRA_CLIENT_ID=CLIENT, ENTRA_CLIENT_SECRET="s3cret", TOKEN_ENCRYPTION_KEY=KEY
    )

    assert result.returncode != 0
    assert "ENTRA_TENANT_ID" in result.stderr
    assert "GUID" in result.stderr


def test_production_without_a_token_encryption_key_is_refused():
    result = load_settings(ENTRA_TENANT_ID=TENANT, ENTRA_CLIENT_ID=CLIENT, ENTRA_CLIENT_SECRET="s3cret")

    assert result.returncode != 0
    assert "TOKEN_ENCRYPTION_KEY" in result.stderr.strip().splitlines()[-1]


def test_development_may_run_without_a_token_encryption_key():
    configured = loaded(DEBUG="1", ENTRA_TENANT_ID=TENANT, ENTRA_CLIENT_ID=CLIENT, ENTRA_CLIENT_SECRET="s3cret")

    assert configured["ENTRA_ENABLED"] is True
