"""Notification tests: a fake Entra ID (token endpoint) and a fake Graph as real local HTTP servers,
one each per session, and settings that point the app at them."""

import pytest
from django.utils import timezone
from social_django.models import UserSocialAuth

from core import microsoft as graph
from devtools.fake_entra import FakeEntraID
from devtools.fake_graph import FakeGraph
from teams_app.models import BotConversation, Notification
from tickets import services

TENANT = "7e3a1c55-2b7d-4f0e-9c41-0a1b2c3d4e5f"
CLIENT = "0c0ffee0-0000-4000-8000-00000000beef"
SECRET = "notify~client.secret_value"
TEAMS_APP_ID = "d7c6b5a4-1234-4abc-8def-0123456789ab"
PROVIDER = "azuread-v2-tenant-oauth2"


@pytest.fixture(scope="session")
def notify_entra():
    with FakeEntraID(tenant_id=TENANT, client_id=CLIENT, client_secret=SECRET) as server:
        yield server


@pytest.fixture(scope="session")
def notify_graph(notify_entra):
    with FakeGraph(
        jwks_url=f"{notify_entra.authority}/discovery/v2.0/keys",
        issuers=(notify_entra.issuer_v1, notify_entra.issuer),
        tenant_id=TENANT,
        client_id=CLIENT,
    ) as server:
        yield server


@pytest.fixture
def microsoft(settings, monkeypatch, notify_entra, notify_graph):
    """Microsoft sign-in and Teams configured against the fakes; returns the fake Graph."""
    settings.ENTRA_ENABLED = True
    settings.ENTRA_TENANT_ID = TENANT
    settings.ENTRA_CLIENT_ID = CLIENT
    settings.ENTRA_CLIENT_SECRET = SECRET
    settings.ENTRA_AUTHORITY_URL = notify_entra.url
    settings.GRAPH_URL = notify_graph.url
    settings.TEAMS_APP_ID = TEAMS_APP_ID
    settings.SITE_URL = "https://tickets.example.com"
    # A fresh msal application (and token cache) per test, and timeouts that a test can wait for.
    monkeypatch.setattr(graph, "_app_client", None)
    monkeypatch.setattr(graph, "TIMEOUT_SECONDS", 1.0)
    notify_graph.reset()
    notify_entra.requests.clear()
    yield notify_graph
    notify_graph.reset()


def connect_microsoft(user, fake_graph: FakeGraph, *, installed: bool = True) -> str:
    """Make ``user`` one who signs in with Microsoft (as the sign-in pipeline would) and known to Graph."""
    oid = fake_graph.add_user(installed=installed)
    UserSocialAuth.objects.create(user=user, provider=PROVIDER, uid=oid, extra_data={"oid": oid})
    return oid


def reachable_in_chat(user, bot, fake_graph: FakeGraph) -> str:
    """``user`` signs in with Microsoft and has the app's personal chat with the bot (``bot``: the fake
    Bot Connector), as the bot's install activity would have recorded it. Returns their object id."""
    oid = connect_microsoft(user, fake_graph)
    BotConversation.objects.create(
        user=user,
        conversation_id=f"a:personal-{oid}",
        service_url=bot.service_url,
        tenant_id=bot.tenant_id,
        user_chat_id=f"29:{oid}",
        bot_chat_id=f"28:{bot.app_id}",
    )
    return oid


def token_requests(entra: FakeEntraID) -> list:
    return [
        request
        for request in entra.requests
        if request.path.endswith("/oauth2/v2.0/token") and request.form.get("grant_type") == "client_credentials"
    ]


@pytest.fixture
def agents_teams_row(microsoft, employee, agent, tree):
    """The Teams notification that a new ticket sends to an agent signed in with Microsoft."""
    connect_microsoft(agent, microsoft)
    ticket = services.ticket_create(requester=employee, problem_source=tree["paper_jam"], title="Jam", description="x")
    return Notification.objects.get(ticket=ticket, channel="teams")


def fresh(row: Notification) -> Notification:
    return Notification.objects.get(pk=row.pk)


def make_due(row: Notification) -> None:
    Notification.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())


# --- The bot: a fake Bot Connector signing activities and receiving the bot's posts ----------------


@pytest.fixture(scope="session")
def bot_connector(notify_entra):
    from devtools.fake_bot_connector import FakeBotConnector

    with FakeBotConnector(
        app_id=CLIENT, tenant_id=TENANT, entra_jwks_url=f"{notify_entra.authority}/discovery/v2.0/keys"
    ) as server:
        yield server


@pytest.fixture
def bot(settings, microsoft, bot_connector):
    """The bot enabled against the fake Bot Connector (and the fake Entra ID for its own tokens)."""
    from teams_app import bot_auth

    settings.TEAMS_BOT_ENABLED = True
    settings.TEAMS_BOT_OPENID_METADATA_URL = bot_connector.openid_metadata_url
    bot_auth.reset_keys()
    bot_connector.reset()
    yield bot_connector
    bot_auth.reset_keys()
    bot_connector.reset()


def post_activity(client, connector, activity: dict, *, token: str | None = None):
    """Post ``activity`` to the bot as the Bot Connector does, signed unless ``token`` says otherwise."""
    import json

    return client.post(
        "/teams/bot/messages",
        data=json.dumps(activity),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token if token is not None else connector.token()}",
    )
