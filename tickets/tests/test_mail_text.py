"""Reading incoming mail: text without history and signature; machine-written mail recognised."""

import pytest

from tickets.mail_text import automatic_reason, body_text, html_to_text, trim_reply


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "Drucker geht nicht.\n\nAm 02.03.2026 um 09:00 schrieb IT <it@contoso.example>:\n> Alt",
            "Drucker geht nicht.",
        ),
        ("Thanks!\n\n-----Original Message-----\nFrom: IT\nOld", "Thanks!"),
        ("Danke\n\nVon: IT-Service <it@contoso.example>\nGesendet: Montag", "Danke"),
        ("Fixed.\n\nVon meinem iPhone gesendet", "Fixed."),
        ("Line one\n> quoted\nLine two", "Line one\nLine two"),
        ("Hi\n\n\n\n\nthere", "Hi\n\nthere"),
    ],
)
def test_history_and_signatures_are_trimmed(text, expected):
    assert trim_reply(text) == expected


def test_html_loses_every_tag_script_and_the_outlook_history():
    html = (
        '<p onclick="x()">Bitte <a href="javascript:alert(1)">hier</a> &lt;b&gt;</p><style>p{}</style>'
        '<script>alert(1)</script><div id="appendonsend"></div><p>old</p>'
    )
    assert html_to_text(html).strip() == "Bitte hier <b>"
    assert body_text({"contentType": "html", "content": html}) == "Bitte hier <b>"


def test_an_ordinary_mail_is_not_automatic():
    assert automatic_reason({"auto-submitted": "no", "content-type": "text/plain"}, "erika@x.example", "Printer") == ""


@pytest.mark.parametrize(
    "headers, sender, subject",
    [
        ({"auto-submitted": "auto-generated"}, "a@x.example", "Hi"),
        ({"x-auto-response-suppress": "OOF"}, "a@x.example", "Hi"),
        ({"return-path": "<>"}, "a@x.example", "Hi"),
        ({}, "postmaster@x.example", "Hi"),
        ({}, "a@x.example", "Out of Office: Hi"),
    ],
)
def test_machine_written_mail_is_recognised(headers, sender, subject):
    assert automatic_reason(headers, sender, subject)
