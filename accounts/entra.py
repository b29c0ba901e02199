"""Sign-in with Microsoft Entra ID: the social-auth backend, the pipeline steps and the error page.

Users are keyed on their immutable object id (``oid``) in the configured tenant, never on an e-mail
address or UPN: those change and can be reused, and linking by e-mail would let a directory account
take over a local one.
"""

import logging
import secrets

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.shortcuts import redirect
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables
from social_core.backends.azuread_tenant import AzureADV2TenantOAuth2
from social_core.exceptions import AuthPolicyError, AuthResponseError, AuthSessionError, SocialAuthBaseException
from social_django.models import UserSocialAuth

from accounts.backends import users_with_roles
from accounts.tokens import GRAPH_SCOPES, protected_token_data
from core import microsoft as graph

logger = logging.getLogger(__name__)


def details_from_claims(claims: dict) -> dict[str, str]:
    """Name, e-mail (the email claim, else the UPN) and a username from ID- or access-token claims."""
    given, family, name = claims.get("given_name"), claims.get("family_name"), claims.get("name") or ""
    if not (given or family) and name:
        given, _space, family = name.partition(" ")
    # v2 tokens carry preferred_username; v1 access tokens (Teams SSO) upn or unique_name.
    upn = claims.get("preferred_username") or claims.get("upn") or claims.get("unique_name") or ""
    return {
        "username": upn or name,
        "email": claims.get("email") or upn,
        "fullname": name,
        "first_name": (given or "")[:150],
        "last_name": (family or "")[:150],
    }


class EntraIDBackend(AzureADV2TenantOAuth2):
    """social-core's tenant backend, keyed on ``oid`` and refusing deactivated users everywhere."""

    name = "azuread-v2-tenant-oauth2"
    ID_KEY = "oid"
    LEGACY_ID_KEYS = ()  # never look an account up by UPN: UPNs change and are reused

    def get_user_id(self, details, response):
        oid = response.get("oid")
        if not oid:
            raise AuthResponseError(self, "The ID token carries no object id (oid).")
        return oid

    def get_user_details(self, response):
        return details_from_claims(response)

    def get_user(self, user_id):
        # social-core's storage returns inactive users too; a deactivated user's session must end.
        # Loaded with the role, as the password backend does (accounts.backends).
        user = users_with_roles().filter(pk=user_id).first()
        return user if user is not None and user.is_active else None

    def auth_params(self, state=None):
        """Send an OpenID Connect nonce, kept with this sign-in's state in the session (as PKCE's
        verifier is): social-core's Entra backends send none, so an ID token obtained elsewhere could
        be played into this browser's sign-in."""
        params = super().auth_params(state)
        transaction = self.strategy.session_get(self.transaction_key(state)) if state else None
        if not isinstance(transaction, dict):
            raise AuthSessionError(self, "state", code="session_context_missing", stage="begin")
        nonce = secrets.token_urlsafe(32)
        self.strategy.session_set(self.transaction_key(state), {**transaction, "nonce": nonce})
        params["nonce"] = nonce
        return params

    def validate_and_return_id_token(self, id_token):
        claims = super().validate_and_return_id_token(id_token)
        # The sign-in's transaction, found by its validated state (validate_state runs first).
        expected = (self._oauth2_transaction or {}).get("nonce")
        nonce = claims.get("nonce")
        if not isinstance(nonce, str) or not nonce:
            raise AuthResponseError(self, claim="nonce", code="missing_claim", stage="token_validation")
        if not isinstance(expected, str) or not constant_time_compare(nonce, expected):
            raise AuthResponseError(
                self,
                "The ID token was not issued for this sign-in.",
                code="invalid_claim",
                claim="nonce",
                stage="token_validation",
            )
        return claims

    def refresh_token_params(self, token, *args, **kwargs):
        params = super().refresh_token_params(token, *args, **kwargs)
        params.pop("resource", None)
        params["scope"] = GRAPH_SCOPES  # v2 requires it; social-core omits it
        return params


# --- Pipeline -------------------------------------------------------------------------------------


def refuse_inactive_user(backend, user=None, *args, **kwargs):
    if user is not None and not user.is_active:
        raise AuthPolicyError(backend, code="authentication_disallowed", stage="pipeline")


@sensitive_variables("response")
def store_tokens(backend, user, response, social=None, *args, **kwargs):
    """Instead of social-core's load_extra_data, which would store the tokens in plain text."""
    social = social or backend.strategy.storage.user.get_social_auth(backend.name, kwargs["uid"])
    social.extra_data = protected_token_data(response, previous=social.extra_data)
    social.save(update_fields=["extra_data", "modified"])


@sensitive_variables("response")
def update_profile(backend, user, response, details, *args, **kwargs):
    """Refresh name, e-mail and job details from the ID token and, best effort, Graph /me."""
    user.first_name = details.get("first_name") or user.first_name
    user.last_name = details.get("last_name") or user.last_name
    user.email = details.get("email") or user.email
    try:
        me = graph.graph_me(response["access_token"]) if response.get("access_token") else {}
    except graph.MicrosoftError as error:
        # Never block the sign-in; the profile is fetched again at the next one.
        logger.warning("Graph /me failed at sign-in of user %s: %s", user.pk, error)
        me = {}
    user.first_name = (me.get("givenName") or user.first_name)[:150]
    user.last_name = (me.get("surname") or user.last_name)[:150]
    user.email = me.get("mail") or user.email
    user.job_title = (me.get("jobTitle") or user.job_title)[:200]
    user.department = (me.get("department") or user.department)[:200]
    user.office_location = (me.get("officeLocation") or user.office_location)[:200]
    language = (me.get("preferredLanguage") or "")[:2].lower()
    if not user.language and language in dict(settings.LANGUAGES):
        user.language = language
    user.save()


def sync_roles(backend, user, response, *args, **kwargs):
    """Make the app roles in the token the user's roles here, at every sign-in."""
    apply_roles(user, response.get("roles") or [])


def apply_roles(user, roles: list[str]) -> None:
    granted = {settings.ENTRA_ROLE_MAP.get(role) for role in roles}
    agent_group, _created = Group.objects.get_or_create(name=settings.IT_STAFF_GROUP)
    if "agent" in granted:
        user.groups.add(agent_group)
    else:
        user.groups.remove(agent_group)
    is_admin = "admin" in granted
    if user.is_staff != is_admin or user.is_superuser != is_admin:
        user.is_staff = user.is_superuser = is_admin
        user.save(update_fields=["is_staff", "is_superuser"])
    for stale in ("is_agent", "in_it_staff_group"):  # the cached role check is stale now
        user.__dict__.pop(stale, None)


# --- Teams tab sign-in ---------------------------------------------------------------------------


def _free_username(wanted: str) -> str:
    model = get_user_model()
    base = (wanted or "microsoft-user")[:140]
    candidate, number = base, 1
    while model.objects.filter(username=candidate).exists():
        number += 1
        candidate = f"{base}-{number}"
    return candidate


@transaction.atomic
def user_for_token_claims(claims: dict):
    """The user behind a validated access token (Teams SSO), found or created by object id exactly as
    the web sign-in does it: the same key, the same profile fields, the same role sync."""
    details = details_from_claims(claims)
    social = (
        UserSocialAuth.objects.select_for_update()
        .select_related("user")
        .filter(provider=EntraIDBackend.name, uid=claims["oid"])
        .first()
    )
    if social is None:
        user = get_user_model()(username=_free_username(details["username"]))
        user.set_unusable_password()
        user.save()
        social = UserSocialAuth.objects.create(
            user=user,
            provider=EntraIDBackend.name,
            uid=claims["oid"],
            extra_data={"oid": claims["oid"], "tid": claims["tid"]},
        )
    user = social.user
    if not user.is_active:
        return user
    user.first_name = details["first_name"] or user.first_name
    user.last_name = details["last_name"] or user.last_name
    user.email = details["email"] or user.email
    user.save()
    apply_roles(user, claims.get("roles") or [])
    return user


# --- Errors ---------------------------------------------------------------------------------------


class EntraErrorMiddleware:
    """A failed Microsoft sign-in goes back to the sign-in page with a clear message, never a
    traceback: also with DEBUG on, where social-auth's own middleware would re-raise."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def get_message(self, exception: SocialAuthBaseException) -> str:
        code = exception.code
        if getattr(exception, "claim", None) == "tid" and code == "invalid_claim":  # not merely missing
            return _(
                "Your Microsoft account belongs to another organisation. Only accounts of this company can sign in."
            )
        if code == "authentication_disallowed":
            return _("This account is deactivated. Please contact IT.")
        if code == "authorization_declined":
            return _("The Microsoft sign-in was cancelled.")
        if code in ("state_mismatch", "session_context_missing", "missing_parameter"):
            return _("The sign-in took too long or was started in another window. Please try again.")
        if code in ("connection_failed", "timeout", "tls_error", "rate_limited", "unavailable", "http_error"):
            return _("Microsoft could not be reached. Please try again in a moment.")
        return _("Microsoft sign-in failed: the answer from Microsoft could not be verified. Please try again.")

    def process_exception(self, request, exception):
        if not isinstance(exception, SocialAuthBaseException) or getattr(request, "social_strategy", None) is None:
            return None
        logger.warning("Microsoft sign-in refused: %s (%s)", type(exception).__name__, exception)
        messages.error(request, self.get_message(exception))
        return redirect(settings.LOGIN_URL)
