"""A throttling storm (429) uses up no attempt and is bounded by time; a Teams notification given up,
for throttling or for failures, goes out by e-mail as after a refusal. Against the fake Graph."""

from datetime import timedelta

from django.core.mail import EmailMultiAlternatives
from django.utils import timezone

from devtools.fake_graph import Scripted
from teams_app import delivery
from teams_app.models import Notification
from teams_app.tests.conftest import fresh, make_due

Status = Notification.Status


def test_a_storm_of_429s_longer_than_the_attempts_does_not_kill_the_notification(settings, microsoft, agents_teams_row):
    settings.NOTIFICATION_MAX_ATTEMPTS = 2
    microsoft.script(*[Scripted(429, retry_after=30)] * 6)

    for _ in range(6):
        before = timezone.now()
        assert delivery.deliver(agents_teams_row.pk) == Status.FAILED
        row = fresh(agents_teams_row)
        assert row.attempts == 0
        assert timedelta(seconds=29) < row.next_attempt_at - before < timedelta(seconds=32)  # Retry-After
        make_due(row)

    assert delivery.deliver(agents_teams_row.pk) == Status.SENT
    assert len(microsoft.activity_requests) == 7
    assert fresh(agents_teams_row).channel == "teams"


def test_throttling_counts_no_attempt_but_server_errors_still_do(settings, microsoft, agents_teams_row):
    settings.NOTIFICATION_MAX_ATTEMPTS = 2
    microsoft.script(Scripted(503), Scripted(429, retry_after=1), Scripted(503))
    outcomes = []
    for _ in range(3):
        outcomes.append(delivery.deliver(agents_teams_row.pk))
        make_due(agents_teams_row)
    assert outcomes == [Status.FAILED, Status.FAILED, Status.SENT]  # the second 503 used the last attempt
    row = fresh(agents_teams_row)
    assert row.channel == "email"  # given up on Teams: e-mailed instead


def test_throttling_is_bounded_by_time_then_the_notification_goes_by_email(
    settings, microsoft, agents_teams_row, mailoutbox
):
    settings.NOTIFICATION_THROTTLE_HOURS = 24
    microsoft.script(Scripted(429, retry_after=60), Scripted(429, retry_after=60))
    assert delivery.deliver(agents_teams_row.pk) == Status.FAILED  # a fresh row: wait and try again

    Notification.objects.filter(pk=agents_teams_row.pk).update(
        created_at=timezone.now() - timedelta(hours=24, minutes=1)
    )
    make_due(agents_teams_row)
    assert delivery.deliver(agents_teams_row.pk) == Status.SENT

    row = fresh(agents_teams_row)
    assert (row.status, row.channel) == (Status.SENT, "email")
    assert "gave up" in row.fallback_note and "429" in row.fallback_note
    assert "e-mail instead" in row.fallback_note
    assert [message.to for message in mailoutbox] == [[agents_teams_row.recipient.email]]


def test_a_teams_notification_out_of_attempts_falls_back_to_email(settings, microsoft, agents_teams_row, mailoutbox):
    settings.NOTIFICATION_MAX_ATTEMPTS = 2
    microsoft.script(Scripted(503), Scripted(500))

    assert delivery.deliver(agents_teams_row.pk) == Status.FAILED
    make_due(agents_teams_row)
    assert delivery.deliver(agents_teams_row.pk) == Status.SENT

    row = fresh(agents_teams_row)
    assert (row.channel, row.attempts) == ("email", 1)
    assert "500" in row.fallback_note
    assert len(mailoutbox) == 1


def test_the_fallback_email_gets_attempts_of_its_own(settings, microsoft, agents_teams_row, monkeypatch, mailoutbox):
    settings.NOTIFICATION_MAX_ATTEMPTS = 2
    microsoft.script(Scripted(503), Scripted(503))

    def smtp_down(message, *args, **kwargs):
        raise ConnectionRefusedError("SMTP server down")

    assert delivery.deliver(agents_teams_row.pk) == Status.FAILED
    make_due(agents_teams_row)
    real_send = EmailMultiAlternatives.send
    monkeypatch.setattr(EmailMultiAlternatives, "send", smtp_down)
    assert delivery.deliver(agents_teams_row.pk) == Status.FAILED  # Teams given up; the e-mail waits for SMTP
    row = fresh(agents_teams_row)
    assert (row.channel, row.status, row.attempts) == ("email", Status.FAILED, 1)

    monkeypatch.setattr(EmailMultiAlternatives, "send", real_send)
    make_due(agents_teams_row)
    assert delivery.deliver(agents_teams_row.pk) == Status.SENT
    assert len(mailoutbox) == 1
    assert len(microsoft.activity_requests) == 2


def test_no_email_fallback_when_the_person_has_no_address(settings, microsoft, agents_teams_row, mailoutbox):
    settings.NOTIFICATION_MAX_ATTEMPTS = 1
    agents_teams_row.recipient.email = ""
    agents_teams_row.recipient.save()
    microsoft.script(Scripted(503))

    assert delivery.deliver(agents_teams_row.pk) == Status.DEAD
    assert "No e-mail address" in fresh(agents_teams_row).fallback_note
    assert mailoutbox == []
