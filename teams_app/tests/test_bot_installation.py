"""With TEAMS_BOT_INSTALL_FOR_EVERYONE (the permission TeamsAppInstallation.ReadWriteForUser.All
granted), the scheduler installs the Teams app for people the bot cannot reach yet. Against the
fake Graph's app catalog and installedApps."""

import pytest

from devtools.fake_graph import CATALOG_ROLE, INSTALL_ROLE, Scripted
from teams_app import installation
from teams_app.models import BotConversation
from teams_app.tests.conftest import TEAMS_APP_ID, connect_microsoft

CATALOG_ID = "1542629c-01b3-4a6d-8f76-1938b779e48d"


@pytest.fixture
def install_everyone(settings, bot, microsoft, notify_entra, monkeypatch):
    settings.TEAMS_BOT_INSTALL_FOR_EVERYONE = True
    monkeypatch.setattr(notify_entra, "app_roles", ("TeamsActivity.Send", INSTALL_ROLE, CATALOG_ROLE))
    microsoft.catalog[TEAMS_APP_ID] = CATALOG_ID
    return microsoft


def install_requests(graph):
    return [request for request in graph.requests if request.path.endswith("/teamwork/installedApps")]


def test_the_app_is_installed_for_people_the_bot_cannot_reach(install_everyone, employee, agent):
    oid = connect_microsoft(employee, install_everyone, installed=False)
    connect_microsoft(agent, install_everyone, installed=True)  # has it already: Graph says 409

    result = installation.install_for_everyone()

    assert (result.installed, result.already, result.failed, result.stopped) == (1, 1, 0, "")
    assert install_everyone.installed(oid)
    [request, _other] = install_requests(install_everyone)
    assert request.body == {"teamsApp@odata.bind": f"{install_everyone.url}/v1.0/appCatalogs/teamsApps/{CATALOG_ID}"}


def test_people_whose_chat_is_known_are_left_alone(install_everyone, employee, bot):
    oid = connect_microsoft(employee, install_everyone, installed=False)
    BotConversation.objects.create(
        user=employee,
        conversation_id="a:1",
        service_url=bot.service_url,
        tenant_id="t",
        user_chat_id="29:1",
        bot_chat_id="28:1",
    )
    assert installation.install_for_everyone().stopped == ""
    assert install_requests(install_everyone) == []
    assert not install_everyone.installed(oid)


def test_nothing_happens_while_the_setting_is_off(install_everyone, settings, employee):
    settings.TEAMS_BOT_INSTALL_FOR_EVERYONE = False
    connect_microsoft(employee, install_everyone, installed=False)
    assert installation.install_for_everyone().stopped == "off"
    assert install_everyone.requests == []


def test_a_missing_permission_stops_the_run_after_the_first_refusal(
    install_everyone, notify_entra, monkeypatch, employee, other_employee
):
    monkeypatch.setattr(notify_entra, "app_roles", ("TeamsActivity.Send", CATALOG_ROLE))
    connect_microsoft(employee, install_everyone, installed=False)
    connect_microsoft(other_employee, install_everyone, installed=False)
    result = installation.install_for_everyone()
    assert result.installed == 0 and "TeamsAppInstallation" in result.stopped
    assert len(install_requests(install_everyone)) == 1


def test_an_app_not_yet_in_the_catalog_installs_nothing(install_everyone, employee):
    install_everyone.catalog.clear()
    connect_microsoft(employee, install_everyone, installed=False)
    assert installation.install_for_everyone().stopped == "not in the app catalog"
    assert install_requests(install_everyone) == []


def test_throttling_is_waited_out(install_everyone, employee):
    oid = connect_microsoft(employee, install_everyone, installed=False)
    install_everyone.script(Scripted(200), Scripted(429, retry_after=1))  # the catalog read, then a 429
    result = installation.install_for_everyone()
    assert result.installed == 1
    assert install_everyone.installed(oid)


def test_a_failure_for_one_person_does_not_stop_the_others(install_everyone, employee, other_employee):
    connect_microsoft(employee, install_everyone, installed=False)
    second = connect_microsoft(other_employee, install_everyone, installed=False)
    # The catalog read, then the first person's install refused for good (400), the second installed.
    install_everyone.script(Scripted(200), Scripted(400))
    result = installation.install_for_everyone()
    assert (result.installed, result.failed, result.stopped) == (1, 1, "")
    assert install_everyone.installed(second)
