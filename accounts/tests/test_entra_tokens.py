"""Microsoft tokens: encryption at rest, delegated Graph tokens that refresh themselves (with `scope`,
which Entra v2 requires), and validation of the access tokens Teams hands to the tab (C14).
"""

import time

import jwt
import pytest
from cryptography.fernet import Fernet
from social_django.models import UserSocialAuth

from accounts.entra import EntraIDBackend
from accounts.models import User
from accounts.tests.entra_fixtures import CLIENT, OTHER_TENANT, PROVIDER, TENANT, microsoft_sign_in
from accounts.tokens import (
    EntraTokenError,
    decrypt,
    encrypt,
    protected_token_data,
    user_graph_token,
    validate_access_token,
)
from core import microsoft as graph
from devtools.fake_entra import GRAPH_RESOURCE

pytestmark = pytest.mark.usefixtures("entra")


# --- Encryption -----------------------------------------------------------------------------------


def test_encrypt_hides_the_value_and_decrypt_gives_it_back():
    secret = "eyJ0eXAiOiJKV1Qi.payload.signature"

    stored = encrypt(secret)

    assert secret not in stored
    assert stored != encrypt(secret)  # a fresh IV every time
    assert decrypt(stored) == secret


def test_decrypt_returns_none_for_another_key_or_tampering(settings):
    stored = encrypt("refresh-token-value")
    tampered = stored[:-6] + ("AAAAAA" if not stored.endswith("AAAAAA") else "BBBBBB")

    assert decrypt(tampered) is None
    assert decrypt("") is None
    assert decrypt("not even base64 !") is None
    settings.TOKEN_ENCRYPTION_KEY = Fernet.generate_key().decode()
    assert decrypt(stored) is None


def test_without_a_key_development_derives_one_from_the_secret_key(settings):
    settings.TOKEN_ENCRYPTION_KEY = ""

    stored = encrypt("access-token-value")

    assert "access-token-value" not in stored
    assert decrypt(stored) == "access-token-value"
    settings.SECRET_KEY = "another-secret-key-for-this-test-only"
    assert decrypt(stored) is None


def test_protected_token_data_keeps_ids_and_expiry_but_never_the_id_token_in_clear():
    response = {
        "access_token": "AT-plain",
        "refresh_token": "RT-plain",
        "id_token": "ID-plain",
        "expires_in": 600,
        "oid": "oid-1",
        "tid": TENANT,
        "token_type": "Bearer",
    }

    data = protected_token_data(response)

    assert set(data) == {"oid", "tid", "access_token", "refresh_token", "expires_at"}
    assert decrypt(data["access_token"]) == "AT-plain"
    assert decrypt(data["refresh_token"]) == "RT-plain"
    assert "ID-plain" not in repr(data) and "AT-plain" not in repr(data) and "RT-plain" not in repr(data)
    assert abs(data["expires_at"] - (time.time() + 600)) < 5


def test_protected_token_data_keeps_the_previous_refresh_token_when_none_comes_back():
    previous = protected_token_data({"access_token": "old", "refresh_token": "RT-1", "oid": "o", "tid": "t"})

    data = protected_token_data({"access_token": "new", "expires_in": 60}, previous=previous)

    assert decrypt(data["access_token"]) == "new"
    assert decrypt(data["refresh_token"]) == "RT-1"
    assert (data["oid"], data["tid"]) == ("o", "t")


# --- Delegated Graph tokens -----------------------------------------------------------------------


@pytest.fixture
def signed_in(db, client, fake, mia) -> User:
    microsoft_sign_in(client, fake, mia)
    fake.requests.clear()
    return UserSocialAuth.objects.get(provider=PROVIDER, uid=mia.oid).user


def social_of(user) -> UserSocialAuth:
    return UserSocialAuth.objects.get(user=user, provider=PROVIDER)


def expire_access_token(user) -> None:
    social = social_of(user)
    social.extra_data["expires_at"] = int(time.time()) - 1
    social.save()


def token_requests(fake):
    return [request for request in fake.requests if request.path.endswith("/oauth2/v2.0/token")]


def test_a_valid_stored_token_is_used_without_asking_entra(signed_in, fake, mia):
    token = user_graph_token(signed_in)

    assert token == decrypt(social_of(signed_in).extra_data["access_token"])
    assert jwt.decode(token, options={"verify_signature": False})["oid"] == mia.oid
    assert not token_requests(fake)


def test_an_expired_token_is_refreshed_with_scope_and_works_for_graph(signed_in, fake, mia):
    before = social_of(signed_in).extra_data
    expire_access_token(signed_in)

    token = user_graph_token(signed_in)

    (refresh,) = token_requests(fake)
    assert refresh.form["grant_type"] == "refresh_token"
    assert refresh.form["refresh_token"] == decrypt(before["refresh_token"])
    assert "User.Read" in refresh.form["scope"].split()
    assert graph.graph_me(token)["id"] == mia.oid
    after = social_of(signed_in).extra_data
    assert decrypt(after["access_token"]) == token
    assert token not in str(after)
    assert after["expires_at"] > time.time() + 600
    # Entra rotated the refresh token; the new one is stored, encrypted.
    assert decrypt(after["refresh_token"]) not in (None, decrypt(before["refresh_token"]))


def test_a_token_about_to_expire_is_refreshed_early(signed_in, fake):
    social = social_of(signed_in)
    social.extra_data["expires_at"] = int(time.time()) + 30
    social.save()

    user_graph_token(signed_in)

    assert len(token_requests(fake)) == 1


def test_no_token_for_a_user_who_never_signed_in_with_microsoft(employee, fake):
    assert user_graph_token(employee) is None
    assert not token_requests(fake)


def test_no_token_when_the_stored_refresh_token_cannot_be_decrypted(signed_in, fake, settings):
    expire_access_token(signed_in)
    settings.TOKEN_ENCRYPTION_KEY = Fernet.generate_key().decode()  # the key was rotated

    assert user_graph_token(signed_in) is None
    assert not token_requests(fake)


def test_no_token_when_entra_no_longer_honours_the_refresh_token(signed_in, fake):
    """The grant is gone (revoked, expired, or used elsewhere): the user must sign in again."""
    social = social_of(signed_in)
    social.extra_data["refresh_token"] = encrypt("revoked-refresh-token")
    social.extra_data["expires_at"] = 0
    social.save()

    assert user_graph_token(signed_in) is None
    assert len(token_requests(fake)) == 1


def test_an_unreachable_entra_raises_a_microsoft_error(signed_in, settings):
    expire_access_token(signed_in)
    settings.ENTRA_AUTHORITY_URL = "http://127.0.0.1:9"  # nothing listens on the discard port

    with pytest.raises(graph.MicrosoftError) as error:
        user_graph_token(signed_in)

    assert error.value.status is None


def test_the_backends_own_refresh_sends_scope_and_no_resource(signed_in, fake):
    refresh_token = decrypt(social_of(signed_in).extra_data["refresh_token"])

    answer = EntraIDBackend().refresh_token(refresh_token)

    assert answer["access_token"]
    (refresh,) = token_requests(fake)
    assert "User.Read" in refresh.form["scope"].split()
    assert "resource" not in refresh.form


# --- Validating access tokens for this app --------------------------------------------------------


def test_a_v2_token_for_the_client_id_is_accepted(fake, mia):
    claims = validate_access_token(fake.make_access_token(mia, version=2))

    assert (claims["oid"], claims["tid"], claims["aud"]) == (mia.oid, TENANT, CLIENT)


def test_a_v1_token_for_the_api_uri_is_accepted(fake, mia):
    claims = validate_access_token(fake.make_access_token(mia, version=1))

    assert (claims["oid"], claims["aud"], claims["iss"]) == (mia.oid, f"api://{CLIENT}", fake.issuer_v1)


def test_a_token_for_the_configured_app_id_uri_is_accepted(fake, mia, settings):
    token = fake.make_access_token(mia, version=1, audience=settings.ENTRA_APP_ID_URI)

    assert validate_access_token(token)["aud"] == settings.ENTRA_APP_ID_URI


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        pytest.param(lambda fake, user: fake.make_access_token(user, key="foreign"), "", id="bad signature"),
        pytest.param(
            lambda fake, user: fake.make_access_token(user, audience="api://another-app"),
            "another application",
            id="wrong audience",
        ),
        pytest.param(
            lambda fake, user: fake.make_access_token(user, audience=GRAPH_RESOURCE, scopes="User.Read", version=1),
            "another application",
            id="a graph token",
        ),
        pytest.param(
            lambda fake, user: fake.make_access_token(user, tid=OTHER_TENANT, iss=f"{fake.url}/{OTHER_TENANT}/v2.0"),
            "another organisation",
            id="other tenant with its own issuer",
        ),
        pytest.param(
            lambda fake, user: fake.make_access_token(user, tid=OTHER_TENANT),
            "another organisation",
            id="other tenant id under our issuer",
        ),
        pytest.param(
            lambda fake, user: fake.make_access_token(user, iss=f"{fake.url}/{OTHER_TENANT}/v2.0"),
            "unexpected issuer",
            id="other tenant's issuer with our tenant id",
        ),
        pytest.param(
            lambda fake, user: fake.make_access_token(user, iss="https://evil.example/v2.0"),
            "unexpected issuer",
            id="foreign issuer",
        ),
        pytest.param(
            lambda fake, user: fake.make_access_token(user, exp=int(time.time()) - 5),
            "expired",
            id="expired",
        ),
        pytest.param(
            lambda fake, user: fake.make_access_token(user, nbf=int(time.time()) + 300),
            "not valid yet",
            id="not yet valid",
        ),
        pytest.param(lambda fake, user: fake.make_access_token(user, nbf=None), "", id="no nbf"),
        pytest.param(lambda fake, user: fake.make_access_token(user, tid=None), "", id="no tenant id"),
        pytest.param(
            lambda fake, user: fake.make_access_token(user, scopes="User.Read"), "access_as_user", id="missing scope"
        ),
        pytest.param(
            lambda fake, user: fake.make_access_token(user, scopes="access_as_user_too"),
            "access_as_user",
            id="scope that only starts the same",
        ),
        pytest.param(lambda fake, user: fake.make_access_token(user, oid=None), "names no user", id="no object id"),
        pytest.param(lambda fake, user: fake.make_app_token(audience=CLIENT, version=2), "", id="app-only token"),
    ],
)
def test_an_unacceptable_access_token_is_rejected(fake, mia, make, reason):
    with pytest.raises(EntraTokenError) as error:
        validate_access_token(make(fake, mia))

    assert reason in str(error.value)


def forge(fake, user, *, algorithm: str, key) -> str:
    genuine = fake.make_access_token(user)
    claims = jwt.decode(genuine, options={"verify_signature": False})
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": jwt.get_unverified_header(genuine)["kid"]})


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(lambda fake, user: forge(fake, user, algorithm="HS256", key="x" * 32), id="HS256"),
        pytest.param(lambda fake, user: forge(fake, user, algorithm="none", key=None), id="alg none"),
        pytest.param(lambda fake, user: "not-a-jwt", id="garbage"),
        pytest.param(lambda fake, user: "", id="empty"),
        pytest.param(lambda fake, user: fake.make_access_token(user)[:-10], id="truncated"),
        pytest.param(
            lambda fake, user: jwt.encode(
                jwt.decode(fake.make_access_token(user), options={"verify_signature": False}),
                fake_private_key(),
                algorithm="RS256",
                headers={"kid": "unknown-kid"},
            ),
            id="unknown key id",
        ),
    ],
)
def test_a_token_that_is_not_an_rs256_jwt_of_ours_is_rejected(fake, mia, token):
    with pytest.raises(EntraTokenError):
        validate_access_token(token(fake, mia))


def fake_private_key():
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_the_required_scope_can_be_chosen(fake, mia):
    token = fake.make_access_token(mia, scopes="Tickets.Read")

    assert validate_access_token(token, required_scope="Tickets.Read")["oid"] == mia.oid
    with pytest.raises(EntraTokenError):
        validate_access_token(token)
