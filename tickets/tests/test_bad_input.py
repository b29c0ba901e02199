"""A bad-input corpus: NUL bytes, foreign ``next`` targets, oversized bodies and texts, a file whose
content contradicts its name, a race for a saved list's name. Each gets a clear answer, never a 500,
and changes nothing."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tickets.forms import SavedTicketFilterForm
from tickets.models import SavedTicketFilter, Ticket

NUL = "a\x00b"


def gif_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (2, 2), "red").save(buffer, format="GIF")
    return buffer.getvalue()


def new_ticket_data(tree, **fields):
    return {"problem_source": tree["paper_jam"].pk, "title": "Jam", "description": "Tray 2", "priority": 2, **fields}


# --- NUL bytes and odd values ---------------------------------------------------------------------


def test_a_nul_byte_in_the_problem_source_search_finds_nothing_instead_of_failing(client, agent, tree):
    client.force_login(agent)
    response = client.get("/tickets/problem-sources/search/", {"q": "\x00"})
    assert response.status_code == 200
    assert response.json() == {"results": []}
    response = client.get("/tickets/problem-sources/search/", {"q": "Pap\x00er jam"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "/tickets/?q=a%00b",
        "/tickets/?requester=a%00b",
        "/tickets/?source=a%00b&assignee=%00&status=%00&page=%00&per_page=%00&sort=%00",
        "/tickets/?page=99999999999999999999999&per_page=99999999999",
        "/tickets/?source=99999999999999999999999&created_from=99999-01-01",
        "/tickets/export.csv?q=a%00b",
        "/tickets/analysis/?source=a%00b&period=%00&start=%00",
        "/tickets/analysis/?source=99999999999999999999999",
        "/tickets/problem-sources/?node=%00&field=%00&next=%00",
        "/tickets/problem-sources/?choose=99999999999999999999999",
        "/tickets/new/?source=99999999999999999999999",
        "/tickets/new/?source=%00",
        "/?source=a%00b&page=%00",
    ],
)
def test_odd_query_values_never_fail(client, agent, ticket, url):
    client.force_login(agent)
    assert client.get(url).status_code < 500


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/accounts/login/", {"username": NUL, "password": NUL}),
        ("/accounts/password/reset/", {"email": "a\x00@example.com"}),
        ("/tickets/saved/new/", {"name": NUL, "query": "q=a%00b"}),
        ("/accounts/profile/", {"language": NUL, "theme": NUL, "time_zone": NUL}),
    ],
)
def test_nul_bytes_in_forms_are_refused_with_a_message(client, agent, url, data):
    client.force_login(agent)
    assert client.post(url, data).status_code < 500
    assert not SavedTicketFilter.objects.exists()


def test_nul_bytes_in_a_new_ticket_or_a_comment_are_refused_with_the_form(client, employee, tree, ticket):
    client.force_login(employee)
    response = client.post("/tickets/new/", new_ticket_data(tree, title=NUL, description=NUL))
    assert response.status_code == 400
    assert b"Null characters are not allowed" in response.content
    response = client.post(f"/tickets/{ticket.pk}/comment/", {"body": NUL})
    assert response.status_code == 400
    assert Ticket.objects.count() == 1
    assert not ticket.comments.exists()


# --- next= on the language and theme switches -----------------------------------------------------


@pytest.mark.parametrize("target", ["abc", "//evil.example/", "/\\evil.example/", "https://evil.example/", "\x00"])
def test_language_and_theme_switches_fall_back_to_the_dashboard_for_a_foreign_next(client, employee, target):
    client.force_login(employee)
    response = client.post("/accounts/language/", {"language": "de", "next": target})
    assert (response.status_code, response.url) == (302, "/")
    response = client.post("/accounts/theme/", {"theme": "dark", "next": target})
    assert (response.status_code, response.url) == (302, "/")


def test_language_and_theme_switches_return_to_a_local_path(client, employee):
    client.force_login(employee)
    assert client.post("/accounts/language/", {"language": "en", "next": "/tickets/?q=x"}).url == "/tickets/?q=x"
    assert client.post("/accounts/theme/", {"theme": "light", "next": "/tickets/"}).url == "/tickets/"


# --- Saving a list under a name taken at the same moment ------------------------------------------


def test_a_saved_list_name_taken_by_a_simultaneous_save_gets_a_form_error(client, agent, monkeypatch):
    """The other save commits between this one's name check and its insert."""
    check = SavedTicketFilterForm.clean_name

    def check_then_lose_the_race(form):
        name = check(form)
        SavedTicketFilter.objects.create(owner=form.owner, name=name, query="")
        return name

    monkeypatch.setattr(SavedTicketFilterForm, "clean_name", check_then_lose_the_race)
    client.force_login(agent)

    response = client.post("/tickets/saved/new/", {"name": "Printers", "query": "status=new"}, follow=True)

    assert response.status_code == 200
    assert "You already have a saved list with this name." in response.content.decode()
    assert SavedTicketFilter.objects.filter(owner=agent, name="Printers").count() == 1


# --- Too large ------------------------------------------------------------------------------------


def test_a_description_over_the_limit_names_it_and_keeps_what_was_typed(client, employee, tree):
    client.force_login(employee)
    typed = "My printer " + "x" * 20000

    response = client.post("/tickets/new/", new_ticket_data(tree, description=typed, title="Kept title"))

    assert response.status_code == 400
    html = response.content.decode()
    assert "at most 20000 characters" in html
    assert typed in html and "Kept title" in html
    assert not Ticket.objects.exists()


def test_a_body_too_large_to_read_gets_a_page_naming_the_limit(client, employee, tree, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    client.force_login(employee)

    response = client.post("/tickets/new/", new_ticket_data(tree, description="x" * (1024 * 1024 + 1)))

    assert response.status_code == 413
    html = response.content.decode()
    assert "at most 1.0\xa0MB together" in html
    assert "Nothing was saved" in html
    assert not Ticket.objects.exists()


def test_a_file_over_the_limit_names_it_and_keeps_the_form(client, employee, tree, settings):
    settings.ATTACHMENT_MAX_BYTES = 1024
    client.force_login(employee)
    big = SimpleUploadedFile("log.txt", b"x" * 2048, content_type="text/plain")

    response = client.post("/tickets/new/", {**new_ticket_data(tree, description="See log"), "attachments": big})

    assert response.status_code == 400
    html = response.content.decode()
    assert "log.txt is 2.0\xa0KB; files may be at most 1.0\xa0KB." in html
    assert "See log" in html


def test_the_file_input_tells_the_browser_the_limit(client, employee, tree, settings):
    settings.ATTACHMENT_MAX_BYTES = 3 * 1024 * 1024
    client.force_login(employee)
    html = client.get(f"/tickets/new/?source={tree['paper_jam'].pk}").content.decode()
    assert f'data-max-bytes="{3 * 1024 * 1024}"' in html
    assert 'data-too-large="Files may be at most 3.0\xa0MB. Too large:"' in html


# --- A file whose content contradicts its name ----------------------------------------------------


def test_a_gif_named_png_is_refused_saying_why(client, employee, ticket):
    client.force_login(employee)
    upload = SimpleUploadedFile("screenshot.png", gif_bytes(), content_type="image/png")

    response = client.post(f"/tickets/{ticket.pk}/attachments/", {"upload-attachments": upload})

    assert response.status_code == 400
    html = response.content.decode()
    assert "screenshot.png was refused: its content is a GIF file, but its name ends in .png." in html
    assert "Rename it to .gif" in html
    assert not ticket.attachments.exists()
