"""A request that timed out may have been accepted: it is retried as the rules say (an attempt each),
and the repeat is harmless where the channel allows (Teams chainId, one e-mail Message-ID)."""

from devtools.fake_graph import Scripted
from teams_app import delivery
from teams_app.models import Notification
from teams_app.tests.conftest import fresh, make_due
from tickets import services

Status = Notification.Status


def test_a_read_timeout_after_graph_accepted_is_sent_again_with_the_same_chain_id(microsoft, agents_teams_row):
    microsoft.script(Scripted(hang=2.0))  # Graph takes the request, the answer comes after our timeout

    assert delivery.deliver(agents_teams_row.pk) == Status.FAILED
    row = fresh(agents_teams_row)
    assert (row.attempts, "timed out" in row.last_error) == (1, True)
    make_due(row)
    assert delivery.deliver(row.pk) == Status.SENT

    first, second = microsoft.activity_requests
    assert first.body == second.body  # the repeat replaces the first in the feed: same chainId
    assert first.body["chainId"] == agents_teams_row.pk


def test_timeouts_use_up_attempts_and_then_the_notification_goes_by_email(
    settings, microsoft, agents_teams_row, mailoutbox
):
    settings.NOTIFICATION_MAX_ATTEMPTS = 2
    microsoft.script(Scripted(hang=2.0), Scripted(hang=2.0))

    assert delivery.deliver(agents_teams_row.pk) == Status.FAILED
    make_due(agents_teams_row)
    assert delivery.deliver(agents_teams_row.pk) == Status.SENT

    assert len(microsoft.activity_requests) == 2  # no third try at Teams
    assert fresh(agents_teams_row).channel == "email"
    assert len(mailoutbox) == 1


def test_an_email_sent_again_keeps_its_message_id(employee, agent, tree, mailoutbox):
    ticket = services.ticket_create(requester=employee, problem_source=tree["paper_jam"], title="Jam", description="x")
    row = Notification.objects.get(ticket=ticket, channel="email")

    assert delivery.deliver(row.pk) == Status.SENT
    Notification.objects.filter(pk=row.pk).update(status=Status.PENDING)  # as after a lost outcome
    assert delivery.deliver(row.pk) == Status.SENT

    first, second = (message.extra_headers["Message-ID"] for message in mailoutbox)
    assert first == second
    assert first.startswith(f"<notification-{row.pk}.") and first.endswith("@localhost>")
