"""Microsoft sign-in sends an OpenID Connect nonce and accepts only an ID token that carries it back
(C14): an ID token issued for another sign-in, or without a nonce, signs nobody in and creates
nothing."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse
from social_django.models import UserSocialAuth

from accounts.models import User
from accounts.tests.entra_fixtures import PROVIDER, authorize, start_microsoft_sign_in

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("entra")]

LOGIN = reverse("accounts:login")
UNVERIFIED_MESSAGE = "the answer from Microsoft could not be verified"


def nonce_of(authorize_url: str) -> str:
    return parse_qs(urlsplit(authorize_url).query)["nonce"][0]


def test_the_authorization_request_carries_a_fresh_nonce_kept_in_the_session(client):
    first = start_microsoft_sign_in(client)
    second = start_microsoft_sign_in(Client())

    nonce = nonce_of(first)
    assert len(nonce) >= 32
    assert nonce != nonce_of(second)
    state = parse_qs(urlsplit(first).query)["state"][0]
    assert client.session[f"{PROVIDER}_oauth2_state_{state}"]["nonce"] == nonce


def test_an_id_token_with_the_sign_ins_nonce_signs_in(client, fake, mia):
    fake.sign_in_as(mia)
    authorize_url = start_microsoft_sign_in(client)

    response = client.get(authorize(authorize_url))

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session[SESSION_KEY] == str(UserSocialAuth.objects.get(provider=PROVIDER, uid=mia.oid).user_id)
    # The fake put the nonce it was sent into the ID token it issued.
    assert fake.requests[0].query["nonce"] == nonce_of(authorize_url)


def another_browsers_nonce() -> str:
    return nonce_of(start_microsoft_sign_in(Client()))


@pytest.mark.parametrize(
    "nonce",
    [None, "", "forged-nonce", another_browsers_nonce],
    ids=["missing", "empty", "wrong", "another-sign-ins"],
)
def test_an_id_token_without_the_sign_ins_nonce_is_refused_and_creates_nothing(client, fake, mia, nonce):
    fake.sign_in_as(mia)
    fake.next_id_token_overrides = {"nonce": nonce() if callable(nonce) else nonce}  # None: no nonce claim
    users_before = User.objects.count()

    response = client.get(authorize(start_microsoft_sign_in(client)))

    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert SESSION_KEY not in client.session
    assert User.objects.count() == users_before
    assert not UserSocialAuth.objects.filter(provider=PROVIDER, uid=mia.oid).exists()
    page = client.get(LOGIN)
    assert UNVERIFIED_MESSAGE in page.content.decode()
