"""Every request to /teams/bot/messages is authenticated like the Bot Connector's: a request with a
tampered token or from elsewhere gets 401 and changes nothing. Against a fake Bot Connector."""

import time

import pytest

from devtools.fake_bot_connector import new_rsa_key
from teams_app import bot_auth
from teams_app.models import BotActivityReceipt, BotConversation, Notification
from teams_app.tests.conftest import CLIENT, connect_microsoft, post_activity

OTHER_TENANT = "11111111-2222-4333-8444-555555555555"


@pytest.fixture
def installed(bot, microsoft, employee):
    """An employee signed in with Microsoft and the install activity Teams sends for them."""
    oid = connect_microsoft(employee, microsoft)
    activity = bot.activity("installationUpdate", user_oid=oid, action="add")
    return oid, activity


def assert_nothing_changed():
    assert not BotConversation.objects.exists()
    assert not Notification.objects.exists()
    assert not BotActivityReceipt.objects.exists()


def test_a_properly_signed_install_is_accepted(client, bot, installed):
    _oid, activity = installed
    assert post_activity(client, bot, activity).status_code == 200
    assert BotConversation.objects.count() == 1


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda c: c.token(key=new_rsa_key()), id="signature"),
        pytest.param(lambda c: c.token(iss="https://sts.windows.net/x/"), id="issuer"),
        pytest.param(lambda c: c.token(aud="00000000-0000-4000-8000-000000000000"), id="audience"),
        pytest.param(lambda c: c.token(exp=int(time.time()) - 3600, iat=int(time.time()) - 7200), id="expiry"),
        pytest.param(lambda c: c.token(serviceUrl="https://evil.example.com/teams/"), id="serviceUrl"),
        pytest.param(lambda c: c.token(kid="unknown-key"), id="unknown key"),
        pytest.param(lambda c: c.token(exp=None), id="no expiry"),
        pytest.param(lambda c: "not-a-jwt", id="garbage"),
        pytest.param(lambda c: "", id="empty"),
    ],
)
def test_tampered_tokens_get_401_and_change_nothing(client, bot, installed, tamper):
    _oid, activity = installed
    response = post_activity(client, bot, activity, token=tamper(bot))
    assert response.status_code == 401
    assert_nothing_changed()


def test_an_hs256_token_signed_with_the_public_key_is_refused(client, bot, installed):
    import jwt

    _oid, activity = installed
    forged = jwt.encode(
        {"iss": bot_auth.ISSUER, "aud": CLIENT, "exp": time.time() + 60},
        "a-shared-secret-of-thirty-two-bytes!",
        algorithm="HS256",
    )
    assert post_activity(client, bot, activity, token=forged).status_code == 401
    assert_nothing_changed()


def test_no_authorization_header_gets_401(client, bot, installed):
    _oid, activity = installed
    response = client.post("/teams/bot/messages", data=activity, content_type="application/json")
    assert response.status_code == 401
    assert_nothing_changed()


def test_an_activity_from_another_tenant_is_refused(client, bot, microsoft, employee):
    oid = connect_microsoft(employee, microsoft)
    activity = bot.activity("installationUpdate", user_oid=oid, action="add", tenant_id=OTHER_TENANT)
    assert post_activity(client, bot, activity).status_code == 401
    assert_nothing_changed()


def test_a_service_url_in_the_body_other_than_the_signed_one_is_refused(client, bot, installed):
    _oid, activity = installed
    activity["serviceUrl"] = "https://evil.example.com/teams/"
    assert post_activity(client, bot, activity).status_code == 401
    assert_nothing_changed()


def test_a_key_that_does_not_endorse_the_channel_is_refused(client, bot, installed):
    _oid, activity = installed
    bot.endorsements = ["webchat"]
    try:
        assert post_activity(client, bot, activity).status_code == 401
    finally:
        bot.endorsements = ["msteams"]
    assert_nothing_changed()


def test_a_slightly_expired_token_is_within_the_clock_skew(client, bot, installed):
    _oid, activity = installed
    token = bot.token(exp=int(time.time()) - 60)
    assert post_activity(client, bot, activity, token=token).status_code == 200


def test_the_keys_are_cached_and_reread_when_microsoft_rolls_them_over(client, bot, installed, monkeypatch):
    oid, activity = installed
    assert post_activity(client, bot, activity).status_code == 200
    assert post_activity(client, bot, bot.activity("message", user_oid=oid, text="hi")).status_code == 200
    assert bot.metadata_reads == 1  # cached

    bot.roll_key()
    monkeypatch.setattr(bot_auth, "REFETCH_MIN_INTERVAL_SECONDS", 0)
    assert post_activity(client, bot, bot.activity("message", user_oid=oid, text="again")).status_code == 200
    assert bot.metadata_reads == 2


def test_unknown_keys_do_not_make_the_bot_reread_the_keys_every_time(client, bot, installed):
    _oid, activity = installed
    assert post_activity(client, bot, activity).status_code == 200
    for _ in range(3):
        assert post_activity(client, bot, activity, token=bot.token(kid="forged")).status_code == 401
    assert bot.metadata_reads == 1


def test_the_endpoint_is_404_while_the_bot_is_off(client, bot, installed, settings):
    settings.TEAMS_BOT_ENABLED = False
    _oid, activity = installed
    assert post_activity(client, bot, activity).status_code == 404


def test_get_is_not_allowed(client, bot):
    assert client.get("/teams/bot/messages").status_code == 405


def test_a_signed_body_that_is_no_activity_is_a_400(client, bot):
    response = client.post(
        "/teams/bot/messages",
        data="[1, 2]",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {bot.token()}",
    )
    assert response.status_code == 400


def test_while_the_keys_cannot_be_read_requests_get_401_without_a_fetch_each(
    client, bot, installed, settings, monkeypatch
):
    _oid, activity = installed
    settings.TEAMS_BOT_OPENID_METADATA_URL = f"{bot.url}/nowhere"  # 404
    fetches = []
    real_fetch = bot_auth._fetch
    monkeypatch.setattr(bot_auth, "_fetch", lambda url: fetches.append(url) or real_fetch(url))
    for _ in range(3):
        assert post_activity(client, bot, activity).status_code == 401
    assert len(fetches) == 1
    assert_nothing_changed()

    settings.TEAMS_BOT_OPENID_METADATA_URL = bot.openid_metadata_url
    bot_auth.reset_keys()
    assert post_activity(client, bot, activity).status_code == 200
