"""The fake Entra ID / Graph server behaves like the real one where the app could notice.

Plain HTTP against a started fake; no database. The social-core test at the end drives the real
`azuread-v2-tenant-oauth2` backend against the fake, so a drift between the two shows up here.
"""

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
from social_core.backends.azuread_tenant import AzureADV2TenantOAuth2
from social_core.exceptions import AuthConfigurationError, AuthResponseError
from social_core.strategy import BaseStrategy

from devtools.fake_entra import GRAPH_APP_ID, GRAPH_RESOURCE, FakeEntraID, FakeUser

TENANT = "0a1b2c3d-0000-4000-8000-00000000abcd"
CLIENT = "c1c1c1c1-0000-4000-8000-000000000001"
SECRET = "fake~secret.value"
REDIRECT_URI = "http://testserver/complete/azuread-v2-tenant-oauth2/"
SCOPE = "openid profile offline_access User.Read email"
TIMEOUT = 5


@pytest.fixture
def fake():
    with FakeEntraID(tenant_id=TENANT, client_id=CLIENT, client_secret=SECRET) as fake:
        yield fake


@pytest.fixture
def mia(fake):
    user = fake.add_user(
        name="Mia Schmidt",
        upn="mia.schmidt@contoso.example",
        email="mia@contoso.example",
        given_name="Mia",
        family_name="Schmidt",
        roles=("Tickets.Agent",),
        job_title="IT Support",
        department="IT",
        office_location="Berlin",
    )
    fake.sign_in_as(user)
    return user


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(32)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize(fake, *, challenge: str = "", state: str = "state-123", **params) -> requests.Response:
    query = {
        "client_id": CLIENT,
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": SCOPE,
        "state": state,
        **({"code_challenge": challenge, "code_challenge_method": "S256"} if challenge else {}),
        **params,
    }
    return requests.get(f"{fake.authority}/oauth2/v2.0/authorize", params=query, allow_redirects=False, timeout=TIMEOUT)


def callback_params(response: requests.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI)
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


def token_request(fake, *, auth=None, **form) -> requests.Response:
    form = {"client_id": CLIENT, "client_secret": SECRET, **form} if auth is None else form
    return requests.post(f"{fake.authority}/oauth2/v2.0/token", data=form, auth=auth, timeout=TIMEOUT)


def redeem(fake, code: str, verifier: str = "", **form) -> requests.Response:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, **form}
    return token_request(fake, **({"code_verifier": verifier} if verifier else {}), **form)


def sign_in(fake) -> dict:
    verifier, challenge = pkce_pair()
    code = callback_params(authorize(fake, challenge=challenge))["code"]
    response = redeem(fake, code, verifier)
    assert response.status_code == 200, response.text
    return response.json()


def verify_id_token(fake, token: str) -> dict:
    """Validate as social-auth does: the JWKS key with the token's kid, audience, issuer, no leeway."""
    jwks = requests.get(f"{fake.authority}/discovery/v2.0/keys", timeout=TIMEOUT).json()
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(key for key in jwks["keys"] if key["kid"] == kid)
    return jwt.decode(token, jwt.PyJWK(key).key, algorithms=["RS256"], audience=CLIENT, issuer=fake.issuer)


def me(fake, token: str | None, **params) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(f"{fake.graph_url}/v1.0/me", headers=headers, params=params, timeout=TIMEOUT)


# --- Discovery and keys ---------------------------------------------------------------------------


def test_discovery_document_points_at_the_fake(fake):
    response = requests.get(
        f"{fake.authority}/v2.0/.well-known/openid-configuration", params={"appid": CLIENT}, timeout=TIMEOUT
    )

    assert response.status_code == 200
    config = response.json()
    assert config["issuer"] == fake.issuer == f"{fake.url}/{TENANT}/v2.0"
    assert config["authorization_endpoint"] == f"{fake.authority}/oauth2/v2.0/authorize"
    assert config["token_endpoint"] == f"{fake.authority}/oauth2/v2.0/token"
    assert config["jwks_uri"] == f"{fake.authority}/discovery/v2.0/keys"
    assert config["end_session_endpoint"] == f"{fake.authority}/oauth2/v2.0/logout"
    assert config["id_token_signing_alg_values_supported"] == ["RS256"]


def test_jwks_publishes_one_rsa_signing_key_on_both_paths(fake):
    for path in ("discovery/v2.0/keys", "discovery/keys"):
        keys = requests.get(f"{fake.authority}/{path}", timeout=TIMEOUT).json()["keys"]

        assert len(keys) == 1
        assert {"kid", "n", "e"} <= keys[0].keys()
        assert (keys[0]["kty"], keys[0]["use"], keys[0]["alg"]) == ("RSA", "sig", "RS256")


def test_unknown_paths_and_other_tenants_answer_404_json(fake):
    for path in ("/nope", "/common/v2.0/.well-known/openid-configuration", f"/{TENANT}/oauth2/v2.0/nope"):
        response = requests.get(f"{fake.url}{path}", timeout=TIMEOUT)

        assert response.status_code == 404
        assert response.json()["error"] == "not_found"


# --- Authorization code flow ----------------------------------------------------------------------


def test_code_flow_with_pkce_returns_tokens_whose_id_token_verifies(fake, mia):
    tokens = sign_in(fake)

    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 3600
    assert set(tokens["scope"].split()) == {"User.Read", "openid", "profile", "email"}
    assert tokens["refresh_token"]
    claims = verify_id_token(fake, tokens["id_token"])
    assert claims["aud"] == CLIENT
    assert claims["iss"] == fake.issuer
    assert (claims["tid"], claims["oid"]) == (TENANT, mia.oid)
    assert claims["preferred_username"] == "mia.schmidt@contoso.example"
    assert claims["email"] == "mia@contoso.example"
    assert (claims["name"], claims["given_name"], claims["family_name"]) == ("Mia Schmidt", "Mia", "Schmidt")
    assert claims["roles"] == ["Tickets.Agent"]
    assert claims["ver"] == "2.0"
    assert claims["exp"] - claims["iat"] == 3600


def test_id_token_leaves_out_claims_the_user_does_not_have(fake):
    fake.sign_in_as(fake.add_user(name="Leon Fischer", upn="leon@contoso.example"))

    claims = verify_id_token(fake, sign_in(fake)["id_token"])

    assert not {"email", "given_name", "family_name", "roles"} & claims.keys()


def test_sub_is_pairwise_but_stable(fake, mia):
    first = sign_in(fake)
    second = sign_in(fake)
    for_graph = jwt.decode(first["access_token"], options={"verify_signature": False})["sub"]

    assert verify_id_token(fake, first["id_token"])["sub"] == verify_id_token(fake, second["id_token"])["sub"]
    assert verify_id_token(fake, first["id_token"])["sub"] not in (mia.oid, for_graph)


def test_graph_access_token_carries_the_delegated_scopes(fake, mia):
    access_token = sign_in(fake)["access_token"]

    claims = jwt.decode(access_token, options={"verify_signature": False})
    assert claims["aud"] in (GRAPH_RESOURCE, GRAPH_APP_ID)
    assert set(claims["scp"].split()) == {"User.Read", "openid", "profile", "email"}
    assert claims["oid"] == mia.oid
    assert "roles" not in claims  # the app's roles are not Graph's


def test_authorize_echoes_state_and_nonce(fake, mia):
    params = callback_params(authorize(fake, state="opaque/state=1&x", nonce="n-0S6"))

    assert params["state"] == "opaque/state=1&x"
    claims = verify_id_token(fake, redeem(fake, params["code"]).json()["id_token"])
    assert claims["nonce"] == "n-0S6"


def test_authorize_rejects_an_unknown_client_without_redirecting(fake, mia):
    response = authorize(fake, client_id="someone-else")

    assert response.status_code == 400
    assert "AADSTS700016" in response.text


def test_authorize_reports_a_missing_scope_to_the_app(fake, mia):
    params = callback_params(authorize(fake, scope=""))

    assert params["error"] == "invalid_request"
    assert params["state"] == "state-123"
    assert "code" not in params


def test_without_sign_in_as_a_page_lets_the_developer_pick_a_user(fake):
    mia = fake.add_user(name="Mia Schmidt", upn="mia@contoso.example")
    fake.add_user(name="Leon <Fischer>", upn="leon@contoso.example")
    verifier, challenge = pkce_pair()

    page = authorize(fake, challenge=challenge)

    assert page.status_code == 200
    assert "Mia Schmidt" in page.text
    assert "Leon &lt;Fischer&gt;" in page.text
    form = {**parse_qs(urlsplit(page.request.url).query), "oid": mia.oid}
    chosen = requests.post(page.request.url.split("?")[0], data=form, allow_redirects=False, timeout=TIMEOUT)
    params = callback_params(chosen)
    assert params["state"] == "state-123"
    claims = verify_id_token(fake, redeem(fake, params["code"], verifier).json()["id_token"])
    assert claims["oid"] == mia.oid


def test_codes_are_single_use(fake, mia):
    verifier, challenge = pkce_pair()
    code = callback_params(authorize(fake, challenge=challenge))["code"]

    assert redeem(fake, code, verifier).status_code == 200
    again = redeem(fake, code, verifier)

    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    assert again.json()["error_codes"] == [54005]


def test_a_wrong_pkce_verifier_is_rejected_and_burns_the_code(fake, mia):
    verifier, challenge = pkce_pair()
    code = callback_params(authorize(fake, challenge=challenge))["code"]

    wrong = redeem(fake, code, "x" * 43)
    assert (wrong.status_code, wrong.json()["error"], wrong.json()["error_codes"]) == (400, "invalid_grant", [50148])
    assert redeem(fake, code, verifier).status_code == 400


def test_a_missing_pkce_verifier_is_rejected(fake, mia):
    _, challenge = pkce_pair()
    code = callback_params(authorize(fake, challenge=challenge))["code"]

    assert redeem(fake, code).json()["error_codes"] == [50148]


def test_the_redirect_uri_must_match_the_authorization(fake, mia):
    code = callback_params(authorize(fake))["code"]

    response = redeem(fake, code, redirect_uri="http://testserver/elsewhere/")

    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


def test_a_wrong_client_secret_is_401_in_entras_error_shape(fake, mia):
    code = callback_params(authorize(fake))["code"]

    response = redeem(fake, code, client_secret="wrong")

    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "invalid_client"
    assert body["error_description"].startswith("AADSTS7000215:")
    assert body["error_codes"] == [7000215]
    assert {"timestamp", "trace_id", "correlation_id"} <= body.keys()


def test_the_client_may_authenticate_with_http_basic(fake, mia):
    code = callback_params(authorize(fake))["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}

    assert token_request(fake, auth=(CLIENT, "wrong"), **form).status_code == 401
    code = callback_params(authorize(fake))["code"]
    assert token_request(fake, auth=(CLIENT, SECRET), **{**form, "code": code}).status_code == 200


def test_next_id_token_overrides_apply_once(fake, mia):
    fake.next_id_token_overrides = {"tid": "99999999-0000-4000-8000-000000000000", "email": None}

    overridden = verify_id_token(fake, sign_in(fake)["id_token"])
    normal = verify_id_token(fake, sign_in(fake)["id_token"])

    assert overridden["tid"] == "99999999-0000-4000-8000-000000000000"
    assert "email" not in overridden
    assert normal["tid"] == TENANT
    assert normal["email"] == "mia@contoso.example"
    assert fake.next_id_token_overrides == {}


def test_requests_are_recorded(fake, mia):
    sign_in(fake)

    token_call = next(request for request in fake.requests if request.path.endswith("/token"))
    assert token_call.method == "POST"
    assert token_call.form["grant_type"] == "authorization_code"
    assert token_call.form["code_verifier"]
    assert token_call.header("content-type") == "application/x-www-form-urlencoded"
    authorize_call = next(request for request in fake.requests if request.path.endswith("/authorize"))
    assert authorize_call.query["code_challenge_method"] == "S256"


# --- Refresh and client credentials ---------------------------------------------------------------


def test_refresh_requires_scope_like_entra_v2(fake, mia):
    refresh_token = sign_in(fake)["refresh_token"]

    missing = token_request(fake, grant_type="refresh_token", refresh_token=refresh_token)

    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_request"
    assert "scope" in missing.json()["error_description"]
    assert fake.requests[-1].form["grant_type"] == "refresh_token"
    assert "scope" not in fake.requests[-1].form
    retried = token_request(fake, grant_type="refresh_token", refresh_token=refresh_token, scope=SCOPE)
    assert retried.status_code == 200  # the rejected request did not use up the refresh token


def test_refresh_with_scope_rotates_the_refresh_token(fake, mia):
    old = sign_in(fake)["refresh_token"]

    refreshed = token_request(fake, grant_type="refresh_token", refresh_token=old, scope=SCOPE)

    assert refreshed.status_code == 200
    body = refreshed.json()
    assert body["access_token"]
    assert body["refresh_token"] != old
    assert verify_id_token(fake, body["id_token"])["oid"] == mia.oid
    reused = token_request(fake, grant_type="refresh_token", refresh_token=old, scope=SCOPE)
    assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")
    again = token_request(fake, grant_type="refresh_token", refresh_token=body["refresh_token"], scope="User.Read")
    assert again.status_code == 200
    assert "id_token" not in again.json()


def test_no_refresh_token_without_offline_access(fake, mia):
    code = callback_params(authorize(fake, scope="openid profile User.Read"))["code"]

    assert "refresh_token" not in redeem(fake, code).json()


def test_client_credentials_needs_exactly_one_default_scope(fake):
    for scope in ("User.Read", "https://graph.microsoft.com/User.Read", f"{GRAPH_RESOURCE}/.default openid"):
        rejected = token_request(fake, grant_type="client_credentials", scope=scope)
        assert (rejected.status_code, rejected.json()["error"]) == (400, "invalid_scope")

    granted = token_request(fake, grant_type="client_credentials", scope=f"{GRAPH_RESOURCE}/.default")

    assert granted.status_code == 200
    claims = jwt.decode(granted.json()["access_token"], options={"verify_signature": False})
    assert claims["aud"] == GRAPH_RESOURCE
    assert claims["idtyp"] == "app"
    assert claims["roles"] == ["TeamsActivity.Send"]
    assert claims["oid"] == fake.app_object_id
    assert "scp" not in claims
    assert "refresh_token" not in granted.json()


def test_client_credentials_with_a_wrong_secret_is_401(fake):
    response = token_request(
        fake, grant_type="client_credentials", scope=f"{GRAPH_RESOURCE}/.default", client_secret="nope"
    )

    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


# --- Graph /me ------------------------------------------------------------------------------------


def test_me_returns_the_signed_in_users_profile(fake, mia):
    response = me(fake, sign_in(fake)["access_token"])

    assert response.status_code == 200
    profile = response.json()
    assert profile["id"] == mia.oid
    assert profile["displayName"] == "Mia Schmidt"
    assert (profile["givenName"], profile["surname"]) == ("Mia", "Schmidt")
    assert profile["mail"] == "mia@contoso.example"
    assert profile["userPrincipalName"] == "mia.schmidt@contoso.example"
    assert profile["jobTitle"] == "IT Support"
    assert profile["officeLocation"] == "Berlin"
    assert profile["businessPhones"] == []
    assert "department" not in profile  # like Graph: only with $select


def test_me_honours_select(fake, mia):
    response = me(fake, sign_in(fake)["access_token"], **{"$select": "id,department,displayName"})

    profile = response.json()
    assert {name for name in profile if not name.startswith("@")} == {"id", "department", "displayName"}
    assert profile["department"] == "IT"
    assert me(fake, sign_in(fake)["access_token"], **{"$select": "salary"}).status_code == 400


def test_me_without_or_with_a_bad_token_is_401_in_graphs_error_shape(fake, mia):
    forged = fake.make_access_token(mia, audience=GRAPH_RESOURCE, scopes="User.Read", version=1, key="foreign")
    for_the_app = fake.make_access_token(mia, scopes="User.Read")
    for token in (None, "not-a-jwt", forged, for_the_app):
        response = me(fake, token)

        assert response.status_code == 401
        assert response.json()["error"]["code"] == "InvalidAuthenticationToken"
        assert "request-id" in response.json()["error"]["innerError"]


def test_me_rejects_app_only_tokens(fake):
    app_token = token_request(fake, grant_type="client_credentials", scope=f"{GRAPH_RESOURCE}/.default").json()

    response = me(fake, app_token["access_token"])

    assert response.status_code == 401
    assert "delegated" in response.json()["error"]["message"]


def test_me_needs_a_user_read_permission(fake, mia):
    code = callback_params(authorize(fake, scope="openid profile"))["code"]

    response = me(fake, redeem(fake, code).json()["access_token"])

    assert (response.status_code, response.json()["error"]["code"]) == (403, "Authorization_RequestDenied")


def test_graph_failures_answer_503_then_recover(fake, mia):
    access_token = sign_in(fake)["access_token"]
    fake.graph_failures = 2

    statuses = [me(fake, access_token).status_code for _ in range(3)]

    assert statuses == [503, 503, 200]
    assert fake.graph_failures == 0


# --- Token helpers --------------------------------------------------------------------------------


def test_make_id_token_with_the_foreign_key_fails_verification(fake, mia):
    assert verify_id_token(fake, fake.make_id_token(mia))["oid"] == mia.oid

    with pytest.raises(jwt.InvalidSignatureError):
        verify_id_token(fake, fake.make_id_token(mia, key="foreign"))


def test_make_access_token_shapes_v1_and_v2_tokens(fake, mia):
    v1 = jwt.decode(fake.make_access_token(mia, version=1), options={"verify_signature": False})
    v2 = jwt.decode(fake.make_access_token(mia, audience="api://x", exp=1), options={"verify_signature": False})

    assert (v1["iss"], v1["aud"], v1["ver"], v1["upn"]) == (fake.issuer_v1, f"api://{CLIENT}", "1.0", mia.upn)
    assert (v2["iss"], v2["aud"], v2["ver"], v2["exp"]) == (fake.issuer, "api://x", "2.0", 1)
    assert v2["scp"] == "access_as_user"
    assert v2["roles"] == ["Tickets.Agent"]


def test_logout_redirects_back(fake):
    response = requests.get(
        f"{fake.authority}/oauth2/v2.0/logout",
        params={"post_logout_redirect_uri": "http://testserver/"},
        allow_redirects=False,
        timeout=TIMEOUT,
    )

    assert (response.status_code, response.headers["Location"]) == (302, "http://testserver/")


def test_stop_frees_the_port_and_start_twice_is_an_error():
    fake = FakeEntraID(tenant_id=TENANT, client_id=CLIENT, client_secret=SECRET).start()
    with pytest.raises(RuntimeError):
        fake.start()
    url = fake.url
    fake.stop()
    fake.stop()

    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=TIMEOUT)


# --- The real social-core backend against the fake ------------------------------------------------


class MemoryNonce:
    """social-core's one-use OAuth state values, kept in memory."""

    used: set = set()

    @classmethod
    def use(cls, scope, timestamp, salt):
        cls.used.add((scope, timestamp, salt))
        return True

    @classmethod
    def consume(cls, scope, timestamp, salt):
        if (scope, timestamp, salt) not in cls.used:
            return False
        cls.used.remove((scope, timestamp, salt))
        return True


class MemoryStorage:
    nonce = MemoryNonce


class DictStrategy(BaseStrategy):
    """Just enough of a social-core strategy: settings from a dict, a dict session, set request data."""

    def __init__(self, settings: dict):
        super().__init__(storage=MemoryStorage)
        self.settings, self.session, self.data = settings, {}, {}

    def get_setting(self, name):
        return self.settings[name]

    def get_request_data(self, merge=True):
        return self.data

    def session_get(self, name, default=None):
        return self.session.get(name, default)

    def session_set(self, name, value):
        self.session[name] = value

    def session_pop(self, name):
        return self.session.pop(name, None)

    def build_absolute_uri(self, path=None):
        return f"http://testserver{path or ''}"


def social_strategy(fake) -> DictStrategy:
    """Settings as the app configures social-auth for a local fake (AUTHORITY_URL must be https)."""
    prefix = "SOCIAL_AUTH_AZUREAD_V2_TENANT_OAUTH2_"
    return DictStrategy(
        {
            f"{prefix}KEY": CLIENT,
            f"{prefix}SECRET": SECRET,
            f"{prefix}TENANT_ID": TENANT,
            f"{prefix}SCOPE": ["User.Read", "email"],
            # The Entra backends default to no PKCE (DEFAULT_USE_PKCE = False); the app turns it on.
            f"{prefix}USE_PKCE": True,
            f"{prefix}AUTHORIZATION_URL": f"{fake.authority}/oauth2/v2.0/authorize",
            f"{prefix}ACCESS_TOKEN_URL": f"{fake.authority}/oauth2/v2.0/token",
            f"{prefix}OPENID_CONFIGURATION_URL": f"{fake.authority}/v2.0/.well-known/openid-configuration",
            f"{prefix}JWKS_URI": f"{fake.authority}/discovery/v2.0/keys",
        }
    )


def test_social_core_backend_signs_in_against_the_fake(fake, mia):
    strategy = social_strategy(fake)
    redirect_path = urlsplit(REDIRECT_URI).path
    begin = AzureADV2TenantOAuth2(strategy, redirect_uri=redirect_path)

    strategy.data = callback_params(requests.get(begin.auth_url(), allow_redirects=False, timeout=TIMEOUT))
    complete = AzureADV2TenantOAuth2(strategy, redirect_uri=redirect_path)
    state = complete.validate_state()
    response = complete.request_access_token(
        complete.access_token_url(),
        method="POST",
        data=complete.auth_complete_params(state),
        headers=complete.auth_headers(),
        auth=complete.auth_complete_credentials(),
    )
    claims = complete.user_data(response["access_token"], response=response)

    assert fake.requests[0].query["code_challenge_method"] == "S256"
    assert fake.requests[1].form["code_verifier"]
    assert claims["oid"] == mia.oid
    assert complete.get_user_details(claims)["email"] == "mia.schmidt@contoso.example"
    assert complete.get_user_id(complete.get_user_details(claims), claims) == claims["sub"]
    assert me(fake, response["access_token"]).json()["id"] == mia.oid


def test_social_core_rejects_forged_and_foreign_tenant_id_tokens(fake, mia):
    backend = AzureADV2TenantOAuth2(social_strategy(fake), redirect_uri="/complete/")
    stranger = FakeUser(name="Eve", upn="eve@fabrikam.example", tid="99999999-0000-4000-8000-000000000000")

    assert backend.validate_and_return_id_token(fake.make_id_token(mia))["oid"] == mia.oid
    for token in (fake.make_id_token(mia, key="foreign"), fake.make_id_token(stranger)):
        with pytest.raises(AuthResponseError):
            backend.validate_and_return_id_token(token)


def test_social_core_refresh_without_scope_fails_against_the_fake(fake, mia):
    backend = AzureADV2TenantOAuth2(social_strategy(fake), redirect_uri="/complete/")

    with pytest.raises(AuthConfigurationError) as error:
        backend.refresh_token(sign_in(fake)["refresh_token"])

    assert error.value.provider_code == "invalid_request"
    assert "AADSTS90014" in error.value.detail

    assert fake.requests[-1].form["grant_type"] == "refresh_token"
    assert "scope" not in fake.requests[-1].form
