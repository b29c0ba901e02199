"""Addresses, messages and checks shared by the Microsoft sign-in tests."""

import re
import time

from django.contrib.auth import SESSION_KEY
from django.urls import reverse
from social_django.models import UserSocialAuth

from accounts.models import User
from accounts.tests.entra_fixtures import PROVIDER
from devtools.fake_entra import FakeUser

LOGIN = reverse("accounts:login")
LOGOUT = reverse("accounts:logout")
DASHBOARD = reverse("dashboard")

FOREIGN_TENANT_MESSAGE = "Your Microsoft account belongs to another organisation"
UNVERIFIED_MESSAGE = "the answer from Microsoft could not be verified"
STATE_MESSAGE = "The sign-in took too long or was started in another window"
DEACTIVATED_MESSAGE = "This account is deactivated"
# A JWT's header and payload are base64 JSON objects, so both start with "eyJ"; Fernet tokens with "gAAAAA".
JWT = re.compile(r"eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.")
FERNET = re.compile(r"gAAAAA[\w-]{60,}")


def signed_in_user(client) -> User | None:
    user_id = client.session.get(SESSION_KEY)
    return User.objects.get(pk=user_id) if user_id else None


def account_of(fake_user: FakeUser) -> User:
    return UserSocialAuth.objects.get(provider=PROVIDER, uid=fake_user.oid).user


def assert_refused(client, response, message: str) -> None:
    """A refused sign-in: back on the login page with a readable message, nobody signed in."""
    assert response.status_code == 302, response.content[:300]
    assert response["Location"] == LOGIN
    assert signed_in_user(client) is None
    page = client.get(LOGIN)
    assert page.status_code == 200
    assert message in page.content.decode()


def add_user(fake, **fields) -> FakeUser:
    fields.setdefault("name", "Leon Fischer")
    fields.setdefault("upn", f"leon.{time.monotonic_ns()}@contoso.example")
    return fake.add_user(**fields)
