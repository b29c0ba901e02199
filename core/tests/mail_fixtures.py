"""The fake Entra ID and the fake Graph with mailboxes (devtools.fake_mail) as real local HTTP servers,
one each per session, and a fixture that sends the app's e-mail through them (``EMAIL_URL=graph://``)."""

import pytest

from core import microsoft
from devtools.fake_entra import FakeEntraID
from devtools.fake_mail import FakeMailGraph

TENANT = "5b9d1f3e-7a2c-4e8b-9d10-1f2e3d4c5b6a"
CLIENT = "0c0ffee0-0000-4000-8000-0000000a1100"
SECRET = "mail~client.secret_value"
MAILBOX = "it@contoso.example"


@pytest.fixture(scope="session")
def mail_entra():
    with FakeEntraID(tenant_id=TENANT, client_id=CLIENT, client_secret=SECRET) as server:
        server.app_roles = ("Mail.Send", "Mail.ReadWrite")
        yield server


@pytest.fixture(scope="session")
def mail_graph_server(mail_entra):
    with FakeMailGraph(
        jwks_url=f"{mail_entra.authority}/discovery/v2.0/keys",
        issuers=(mail_entra.issuer_v1, mail_entra.issuer),
        tenant_id=TENANT,
        client_id=CLIENT,
    ) as server:
        yield server


@pytest.fixture
def mail_graph(settings, monkeypatch, mail_entra, mail_graph_server):
    """The app sends e-mail through the fake Graph as MAILBOX; returns the fake with MAILBOX in it."""
    settings.ENTRA_ENABLED = True
    settings.ENTRA_TENANT_ID = TENANT
    settings.ENTRA_CLIENT_ID = CLIENT
    settings.ENTRA_CLIENT_SECRET = SECRET
    settings.ENTRA_AUTHORITY_URL = mail_entra.url
    settings.GRAPH_URL = mail_graph_server.url
    settings.SITE_URL = "https://tickets.example.com"
    settings.EMAIL_BACKEND = "core.graph_mail.GraphEmailBackend"
    settings.EMAIL_GRAPH_MAILBOX = MAILBOX
    settings.DEFAULT_FROM_EMAIL = f"IT-Service <{MAILBOX}>"
    # A fresh msal application (and token cache) per test, and timeouts a test can wait for.
    monkeypatch.setattr(microsoft, "_app_client", None)
    monkeypatch.setattr(microsoft, "TIMEOUT_SECONDS", 1.0)
    mail_graph_server.reset()
    mail_graph_server.add_mailbox(MAILBOX)
    yield mail_graph_server
    mail_graph_server.reset()
