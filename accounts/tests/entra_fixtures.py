"""Microsoft sign-in tests: one fake Entra ID per test session, and settings that point the app at it.

Settings are computed at import, so the ``entra`` fixture turns sign-in on through pytest-django's
``settings`` fixture, with the social-auth keys computed exactly as core/settings.py computes them.
One fake for the whole session: social-core caches discovery and keys per URL for a day.
"""

import copy
from urllib.parse import urlsplit

import pytest
import requests
from cryptography.fernet import Fernet
from csp.constants import SELF
from django.urls import reverse

from core.settings import entra_social_settings
from devtools.fake_entra import FakeEntraID, FakeUser

TENANT = "5f1c0e2a-7b3d-4c8e-9a10-2b3c4d5e6f70"
OTHER_TENANT = "99999999-0000-4000-8000-000000000000"
CLIENT = "c1c1c1c1-0000-4000-8000-00000000cafe"
SECRET = "fake~client.secret_value"
PROVIDER = "azuread-v2-tenant-oauth2"
BEGIN = reverse("social:begin", args=[PROVIDER])
COMPLETE = reverse("social:complete", args=[PROVIDER])
TIMEOUT = 10


@pytest.fixture(scope="session")
def entra_server():
    with FakeEntraID(tenant_id=TENANT, client_id=CLIENT, client_secret=SECRET) as server:
        yield server


@pytest.fixture
def fake(entra_server):
    """The session's fake with this test's knobs reset; users added by earlier tests remain."""
    entra_server.requests.clear()
    entra_server.graph_failures = 0
    entra_server.next_id_token_overrides = {}
    entra_server.sign_in_as(None)
    yield entra_server
    entra_server.sign_in_as(None)
    entra_server.graph_failures = 0
    entra_server.next_id_token_overrides = {}


@pytest.fixture
def entra(settings, fake):
    """Microsoft sign-in configured against the fake, as the ENTRA_ variables would configure it."""
    settings.ENTRA_ENABLED = True
    settings.ENTRA_TENANT_ID = TENANT
    settings.ENTRA_CLIENT_ID = CLIENT
    settings.ENTRA_CLIENT_SECRET = SECRET
    settings.ENTRA_AUTHORITY_URL = fake.url
    settings.GRAPH_URL = fake.url
    settings.ENTRA_APP_ID_URI = f"api://tickets.example.com/{CLIENT}"
    settings.ENTRA_SIGN_OUT_OF_MICROSOFT = False
    settings.TOKEN_ENCRYPTION_KEY = Fernet.generate_key().decode()
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, "accounts.entra.EntraIDBackend"]
    for name, value in entra_social_settings(
        tenant_id=TENANT,
        client_id=CLIENT,
        client_secret=SECRET,
        authority_host=settings.ENTRA_AUTHORITY_HOST,
        authority_url=fake.url,
    ).items():
        setattr(settings, name, value)
    # As core/settings.py does: the login form's POST redirects to the identity provider, and browsers
    # apply CSP form-action to that redirect.
    policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    policy["DIRECTIVES"]["form-action"] = [SELF, fake.url]
    settings.CONTENT_SECURITY_POLICY = policy
    return fake


@pytest.fixture
def mia(fake) -> FakeUser:
    return fake.add_user(
        name="Mia Schmidt",
        upn="mia.schmidt@contoso.example",
        email="mia@contoso.example",
        given_name="Mia",
        family_name="Schmidt",
        job_title="IT Support",
        department="IT",
        office_location="Berlin",
        preferred_language="de-DE",
    )


def start_microsoft_sign_in(client, **data) -> str:
    """POST the login form's "Log in with Microsoft" and return the authorize URL it leads to."""
    response = client.post(BEGIN, data)
    assert response.status_code == 302, response.content[:500]
    return response["Location"]


def authorize(authorize_url: str) -> str:
    """Visit the fake's authorize endpoint as the browser would; return the app's callback path+query."""
    answer = requests.get(authorize_url, allow_redirects=False, timeout=TIMEOUT)
    assert answer.status_code == 302, answer.text[:500]
    callback = urlsplit(answer.headers["Location"])
    assert callback.path == COMPLETE
    return f"{callback.path}?{callback.query}"


def microsoft_sign_in(client, fake, user: FakeUser | None, **data):
    """The whole round trip through the Django test client; returns the app's answer to the callback."""
    fake.sign_in_as(user)
    return client.get(authorize(start_microsoft_sign_in(client, **data)))
