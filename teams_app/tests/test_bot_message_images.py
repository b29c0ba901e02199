"""The images of a Teams message turned into a ticket become its attachments: fetched after filing
by a background task through core.microsoft, with the bot's token from the Bot Connector (here the
fake, a real local server), checked like any upload; an address anywhere else is never requested."""

import pytest
from background_task.models import Task

from teams_app import message_images
from teams_app.tests.conftest import connect_microsoft
from teams_app.tests.test_bot_message_action import dialog_url, open_form
from tickets.models import Attachment, Ticket
from tickets.tests.page_helpers import png_bytes

LINK = "https://teams.microsoft.com/l/message/19:abc@thread.v2/1700000000000"


@pytest.fixture
def oid(bot, microsoft, employee):
    return connect_microsoft(employee, microsoft)


def fetch_task(bot, oid, *, attachments=(), content="<p>Printer error</p>"):
    payload = {
        "id": "1700000000000",
        "body": {"contentType": "html", "content": content},
        "attachments": list(attachments),
        "linkToMessage": LINK,
    }
    value = {"commandId": "createTicket", "commandContext": "message", "messagePayload": payload}
    return bot.activity("invoke", user_oid=oid, name="composeExtension/fetchTask", value=value)


def file_from_message(client, bot, oid, employee, tree, **message) -> Ticket:
    url = dialog_url(client, bot, fetch_task(bot, oid, **message))
    client.force_login(employee)
    open_form(client, url, tree)
    client.post(
        "/tickets/new/",
        {"problem_source": tree["paper_jam"].pk, "title": "Printer", "description": "From Teams", "priority": 2},
    )
    return Ticket.objects.get()


def run_image_tasks() -> None:
    for task in Task.objects.filter(task_name="teams_app.tasks.attach_message_images"):
        args, kwargs = task.params()
        message_images.attach_message_images.task_function(*args, **kwargs)
        task.delete()


def test_an_image_of_the_message_becomes_an_attachment_after_filing(client, bot, oid, employee, tree):
    image = bot.add_file(png_bytes(), "image/png")
    ticket = file_from_message(
        client, bot, oid, employee, tree, attachments=[{"contentType": "image/png", "contentUrl": image, "name": "x"}]
    )
    assert not Attachment.objects.exists()  # nothing waited for Microsoft in the request

    run_image_tasks()

    attachment = Attachment.objects.get(ticket=ticket)
    assert attachment.original_name == "teams-image-1.png"
    assert attachment.content_type == "image/png"
    [fetched] = [request for request in bot.sent if request.method == "GET"]
    assert fetched.headers["Authorization"].startswith("Bearer ")


def test_images_elsewhere_are_never_requested(client, bot, oid, employee, tree):
    evil = "https://evil.example/track.png"
    ticket = file_from_message(
        client,
        bot,
        oid,
        employee,
        tree,
        attachments=[{"contentType": "image/png", "contentUrl": evil}],
        content=f'<p>see <img src="{evil}"> and <img src="http://169.254.169.254/latest/meta-data"></p>',
    )

    assert not Task.objects.filter(task_name="teams_app.tasks.attach_message_images").exists()
    assert not Attachment.objects.filter(ticket=ticket).exists()


def test_something_that_is_not_an_image_is_refused_like_any_upload(client, bot, oid, employee, tree):
    disguised = bot.add_file(b"<script>alert(1)</script>", "image/png")
    ticket = file_from_message(
        client, bot, oid, employee, tree, attachments=[{"contentType": "image/png", "contentUrl": disguised}]
    )

    run_image_tasks()

    assert not Attachment.objects.filter(ticket=ticket).exists()


def test_a_message_without_images_schedules_nothing(client, bot, oid, employee, tree):
    file_from_message(client, bot, oid, employee, tree)

    assert not Task.objects.filter(task_name="teams_app.tasks.attach_message_images").exists()


def test_image_addresses_are_taken_from_the_connector_and_graph_only(settings, bot):
    settings.GRAPH_URL = "https://graph.microsoft.com"
    hosted = "https://graph.microsoft.com/v1.0/chats/19:x/messages/1/hostedContents/abc/$value"
    connector = f"{bot.service_url}v3/attachments/1/views/original"
    # Graph addresses the app's token could read but that are not this message's own images.
    other_message = "https://graph.microsoft.com/v1.0/chats/19:y/messages/2/hostedContents/abc/$value"
    mailbox = "https://graph.microsoft.com/v1.0/users/helpdesk@contoso.com/messages/9/attachments/1/$value"
    payload = {
        "id": "1",
        "attachments": [
            {"contentType": "image/png", "contentUrl": connector},
            {"contentType": "reference", "contentUrl": "https://contoso.sharepoint.com/doc.docx"},
        ],
        "body": {
            "content": "".join(
                f'<img src="{url.replace("$", "&#36;")}">'
                for url in (hosted, "https://graph.microsoft.com.evil.example/x", other_message, mailbox)
            )
        },
    }

    refs = message_images.image_refs(payload, service_url=bot.service_url)

    assert refs == [connector, hosted]
    assert [message_images.source_of(url, bot.service_url) for url in refs] == ["bot", "graph"]
    assert message_images.source_of(mailbox, bot.service_url) is None  # never fetched, even from a task


def test_at_most_five_images_are_taken(bot):
    payload = {
        "attachments": [
            {"contentType": "image/png", "contentUrl": f"{bot.service_url}v3/attachments/{n}"} for n in range(9)
        ]
    }
    assert len(message_images.image_refs(payload, service_url=bot.service_url)) == message_images.MAX_IMAGES
