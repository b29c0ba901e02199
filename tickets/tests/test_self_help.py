"""Self-help articles: shown before the form, "That solved it" counted, "I still need help" noted,
written by IT staff in the web UI, also from a public reply of a ticket."""

from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from tickets import self_help, services
from tickets.models import SelfHelpArticle, SelfHelpDeflection, SelfHelpImage, Ticket, TicketEvent
from tickets.tests.page_helpers import body_of, checked_png, png_upload, text_file_upload

NEW = reverse("tickets:new")


@pytest.fixture
def article(tree, agent):
    return self_help.article_save(
        node=tree["paper_jam"],
        author=agent,
        title_en="Clearing a paper jam",
        title_de="Papierstau beheben",
        body_en="1. Open **flap B**\n2. Pull the sheet out\n\n<script>alert(1)</script> [x](javascript:alert(1))",
        body_de="1. Klappe **B** öffnen",
    )


# --- The picker ------------------------------------------------------------------------------------


def test_reaching_a_node_with_an_article_shows_it_before_the_form(client, employee, tree, article):
    client.force_login(employee)

    response = client.get(NEW, {"source": tree["paper_jam"].pk})

    assert response.status_code == 200
    assert "tickets/self_help_article.html" in [t.name for t in response.templates]
    html = response.content.decode()
    assert "Clearing a paper jam" in html
    assert "<strong>flap B</strong>" in html
    assert "<script>alert(1)</script>" not in html and "javascript:" not in html  # sanitised by nh3
    assert 'name="title"' not in html  # no form yet
    assert f"{NEW}?source={tree['paper_jam'].pk}&amp;help={article.pk}" in html  # "I still need help"
    assert reverse("tickets:self_help_solved", args=[article.pk]) in html


def test_the_article_is_shown_in_the_readers_language(client, employee, tree, article):
    client.force_login(employee)
    with translation.override("de"):
        response = client.get(NEW, {"source": tree["paper_jam"].pk}, HTTP_ACCEPT_LANGUAGE="de")
    assert "Papierstau beheben" in response.content.decode()


def test_nodes_without_an_article_open_the_form_directly(client, employee, tree, article):
    client.force_login(employee)
    response = client.get(NEW, {"source": tree["toner"].pk})
    assert "tickets/ticket_form.html" in [t.name for t in response.templates]


def test_that_solved_it_files_nothing_and_counts_per_node_and_day(client, employee, tree, article):
    client.force_login(employee)
    url = reverse("tickets:self_help_solved", args=[article.pk])

    first = client.post(url)
    client.post(url)

    assert first.status_code == 302 and first.url == reverse("dashboard")
    assert Ticket.objects.count() == 0
    row = SelfHelpDeflection.objects.get()
    assert (row.problem_source_id, row.day, row.count) == (tree["paper_jam"].pk, timezone.localdate(), 2)
    assert client.get(url).status_code == 405  # GET never counts


def test_deflections_of_another_day_get_their_own_row(tree):
    self_help.deflection_count(node=tree["paper_jam"], day=date(2026, 1, 5))
    self_help.deflection_count(node=tree["paper_jam"], day=date(2026, 1, 6))
    self_help.deflection_count(node=tree["paper_jam"], day=date(2026, 1, 6))
    assert sorted(SelfHelpDeflection.objects.values_list("day", "count")) == [
        (date(2026, 1, 5), 1),
        (date(2026, 1, 6), 2),
    ]


def test_that_solved_it_for_an_article_of_a_retired_node_is_refused(client, employee, tree, agent):
    retired = self_help.article_save(
        node=tree["retired_child"], author=agent, title_en="Fax", title_de="", body_en="b", body_de=""
    )
    client.force_login(employee)
    assert client.post(reverse("tickets:self_help_solved", args=[retired.pk])).status_code == 404
    assert not SelfHelpDeflection.objects.exists()


def test_i_still_need_help_opens_the_form_and_the_ticket_notes_the_article(client, employee, agent, tree, article):
    client.force_login(employee)
    form_page = client.get(NEW, {"source": tree["paper_jam"].pk, "help": article.pk})
    assert "tickets/ticket_form.html" in [t.name for t in form_page.templates]
    assert f'name="self_help_article" value="{article.pk}"' in form_page.content.decode()

    response = client.post(
        NEW,
        {
            "problem_source": tree["paper_jam"].pk,
            "title": "Still jammed",
            "description": "Flap B did not help",
            "priority": "2",
            "self_help_article": article.pk,
        },
    )

    ticket = Ticket.objects.get()
    assert response.status_code == 302
    event = TicketEvent.objects.get(ticket=ticket, kind=TicketEvent.Kind.SELF_HELP)
    assert event.new_value == "Clearing a paper jam" and event.actor == employee
    client.force_login(agent)
    page = client.get(ticket.get_absolute_url()).content.decode()
    assert "read the self-help article <em>Clearing a paper jam</em> first and still needed help" in page


def test_a_ticket_without_the_article_step_notes_nothing(client, employee, tree):
    client.force_login(employee)
    client.post(NEW, {"problem_source": tree["toner"].pk, "title": "t", "description": "d", "priority": "2"})
    assert not TicketEvent.objects.filter(kind=TicketEvent.Kind.SELF_HELP).exists()


@pytest.mark.parametrize("claimed", ["other_node", "unknown", "garbage"])
def test_a_crafted_article_id_notes_nothing_and_files_the_ticket(client, employee, tree, article, claimed):
    value = {"other_node": article.pk, "unknown": article.pk + 100, "garbage": "x"}[claimed]
    client.force_login(employee)
    response = client.post(
        NEW,
        {
            "problem_source": tree["toner"].pk,
            "title": "t",
            "description": "d",
            "priority": "2",
            "self_help_article": value,
        },
    )
    assert response.status_code == 302 and Ticket.objects.count() == 1
    assert not TicketEvent.objects.filter(kind=TicketEvent.Kind.SELF_HELP).exists()


def test_an_inner_node_shows_its_article_above_the_choices(client, employee, agent, tree):
    self_help.article_save(
        node=tree["printer"], author=agent, title_en="Printer basics", title_de="", body_en="Restart it.", body_de=""
    )
    client.force_login(employee)
    response = client.get(NEW, {"source": tree["printer"].pk})
    html = response.content.decode()
    assert "tickets/ticket_picker.html" in [t.name for t in response.templates]
    assert "Printer basics" in html and "Paper jam" in html


def test_the_picker_pages_work_without_javascript(client, employee, tree, article):
    """Plain links and POST forms: the whole flow is reachable with what a no-JS browser sends."""
    client.force_login(employee)
    html = client.get(NEW, {"source": tree["paper_jam"].pk}).content.decode()
    assert f'<form method="post" action="{reverse("tickets:self_help_solved", args=[article.pk])}">' in html
    assert "csrfmiddlewaretoken" in html


# --- Images ----------------------------------------------------------------------------------------


def test_article_images_are_shown_inline_and_served_to_signed_in_people_only(client, employee, agent, tree, article):
    self_help.article_save(
        node=tree["paper_jam"],
        author=agent,
        title_en=article.title_en,
        title_de="",
        body_en="See the picture",
        body_de="",
        images=[checked_png("flap.png")],
    )
    image = SelfHelpImage.objects.get()
    client.force_login(employee)
    html = client.get(NEW, {"source": tree["paper_jam"].pk}).content.decode()
    assert f'<img src="{image.get_absolute_url()}"' in html

    served = client.get(image.get_absolute_url())
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert body_of(served).startswith(b"\x89PNG")
    client.logout()
    assert client.get(image.get_absolute_url()).status_code == 302  # to the sign-in page


# --- IT's editor -----------------------------------------------------------------------------------


def test_employees_cannot_open_or_post_the_editor(client, employee, tree):
    client.force_login(employee)
    url = reverse("tickets:self_help_edit", args=[tree["toner"].pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"title_en": "x", "body_en": "y"}).status_code == 404
    assert client.get(reverse("tickets:self_help_list")).status_code == 404
    assert not SelfHelpArticle.objects.exists()


def test_an_agent_writes_an_article_with_pictures_in_the_web_ui(client, agent, tree):
    client.force_login(agent)
    url = reverse("tickets:self_help_edit", args=[tree["toner"].pk])

    response = client.post(
        url,
        {
            "title_en": "Changing the toner",
            "title_de": "Toner wechseln",
            "body_en": "Open the front.",
            "body_de": "Vorne öffnen.",
            "images": [png_upload("front.png")],
        },
    )

    assert response.status_code == 302
    article = SelfHelpArticle.objects.get(problem_source=tree["toner"])
    assert (article.title_en, article.body_de, article.updated_by) == ("Changing the toner", "Vorne öffnen.", agent)
    assert [image.original_name for image in article.images.all()] == ["front.png"]
    listing = client.get(reverse("tickets:self_help_list")).content.decode()
    assert "Changing the toner" in listing


def test_the_editor_refuses_bad_input_and_changes_nothing(client, agent, tree, article):
    client.force_login(agent)
    url = reverse("tickets:self_help_edit", args=[tree["paper_jam"].pk])

    missing = client.post(url, {"title_en": "", "body_en": "changed"})
    not_a_picture = client.post(url, {"title_en": "t", "body_en": "changed", "images": [text_file_upload("notes.txt")]})

    assert missing.status_code == 400 and not_a_picture.status_code == 400
    assert "is not a picture" in not_a_picture.content.decode()
    article.refresh_from_db()
    assert article.body_en.startswith("1. Open")
    assert not SelfHelpImage.objects.exists()


def test_an_agent_removes_a_picture_and_deletes_the_article(client, agent, tree, article):
    self_help.article_save(
        node=tree["paper_jam"],
        author=agent,
        title_en="t",
        title_de="",
        body_en="b",
        body_de="",
        images=[checked_png("a.png"), checked_png("b.png")],
    )
    first = SelfHelpImage.objects.order_by("pk").first()
    client.force_login(agent)
    url = reverse("tickets:self_help_edit", args=[tree["paper_jam"].pk])

    client.post(url, {"title_en": "t", "body_en": "b", "remove_images": [first.pk]})
    assert [image.original_name for image in SelfHelpImage.objects.all()] == ["b.png"]

    client.post(url, {"delete": "1"})
    assert not SelfHelpArticle.objects.exists() and not SelfHelpImage.objects.exists()


def test_turn_this_answer_into_help_prefills_the_article_from_the_public_reply(client, agent, ticket):
    reply = services.ticket_comment(ticket=ticket, author=agent, body="Restart the **print spooler**.")
    note = services.ticket_comment(ticket=ticket, author=agent, body="secret", is_internal=True)
    client.force_login(agent)
    detail = client.get(ticket.get_absolute_url()).content.decode()
    edit_url = reverse("tickets:self_help_edit", args=[ticket.problem_source_id])
    link = f"{edit_url}?ticket={ticket.pk}&amp;comment={reply.pk}"
    assert link in detail
    assert f"comment={note.pk}" not in detail  # internal notes are no help for employees
    assert f"Turn this answer into help for {ticket.problem_source.name}" in detail

    response = client.get(edit_url, {"ticket": ticket.pk, "comment": reply.pk})
    form = response.context["form"]
    assert f"The text was taken from the reply on ticket #{ticket.pk}." in response.content.decode()

    assert form.initial["body_en"] == "Restart the **print spooler**."
    assert form.initial["title_en"] == ticket.title
    assert client.get(edit_url, {"ticket": ticket.pk, "comment": note.pk}).status_code == 404


def test_employees_see_no_turn_into_help_links(client, employee, agent, ticket):
    services.ticket_comment(ticket=ticket, author=agent, body="Restart it.")
    client.force_login(employee)
    assert "Turn this answer into help" not in client.get(ticket.get_absolute_url()).content.decode()


def test_the_article_works_in_the_teams_tab_and_its_links_stay_inside_it(client, employee, tree, article):
    client.force_login(employee)

    page = client.get("/teams/app/tickets/new/", {"source": tree["paper_jam"].pk})
    solved = client.post(f"/teams/app/tickets/new/help/{article.pk}/solved/")

    html = page.content.decode()
    assert page.status_code == 200 and "X-Frame-Options" not in page
    assert "teams.microsoft.com" in page["Content-Security-Policy"]
    assert f'action="/teams/app/tickets/new/help/{article.pk}/solved/"' in html
    assert f'href="/teams/app/tickets/new/?source={tree["paper_jam"].pk}&amp;help={article.pk}"' in html
    assert solved.status_code == 302 and solved["Location"] == "/teams/app/"
    assert SelfHelpDeflection.objects.get().count == 1


def test_article_titles_and_names_are_escaped_everywhere(client, employee, agent, tree):
    evil = '<img src=x onerror="alert(1)">'
    article = self_help.article_save(
        node=tree["toner"], author=agent, title_en=evil, title_de="", body_en=evil, body_de=""
    )
    client.force_login(employee)
    picker = client.get(NEW, {"source": tree["toner"].pk}).content.decode()
    client.post(
        NEW,
        {
            "problem_source": tree["toner"].pk,
            "title": "t",
            "description": "d",
            "priority": "2",
            "self_help_article": article.pk,
        },
    )
    client.force_login(agent)
    detail = client.get(Ticket.objects.get().get_absolute_url()).content.decode()
    listing = client.get(reverse("tickets:self_help_list")).content.decode()
    for html in (picker, detail, listing):
        assert evil not in html
        assert "&lt;img src=x onerror=" in html


def test_the_admin_lists_articles_and_ratings(client, tree, article):
    from conftest import make_user

    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    for name in ("tickets_selfhelparticle_changelist", "tickets_ticketrating_changelist"):
        assert client.get(reverse(f"admin:{name}")).status_code == 200
    assert "Clearing a paper jam" in client.get(reverse("admin:tickets_selfhelparticle_changelist")).content.decode()


def test_pictures_named_in_the_text_are_placed_there_and_the_others_follow(agent, tree):
    article = self_help.article_save(
        node=tree["toner"],
        author=agent,
        title_en="Toner",
        title_de="",
        body_en='Open the front:\n\n![The front "flap"](front.png)\n\n1. Pull ![lever](lever.png) down\n\n'
        "Not ours: ![x](https://evil.example/x.png) ![y](javascript:alert(1))",
        body_de="",
        images=[checked_png("front.png"), checked_png("lever.png"), checked_png("extra.png")],
    )
    front, lever, extra = (image.get_absolute_url() for image in article.images.order_by("pk"))

    html = str(self_help.render_article(article))

    assert f'<figure class="self-help-figure"><img src="{front}" alt="The front &quot;flap&quot;"' in html
    assert f'<li>Pull <img src="{lever}" alt="lever"' in html
    assert html.index(front) < html.index(lever) < html.index(extra)  # the unnamed one follows the text
    assert html.count("<img") == 3  # foreign and script images are dropped by the sanitiser
    assert "evil.example" not in html and "javascript" not in html


def test_none_of_these_on_a_node_with_an_article_shows_it_and_keeps_the_choice(client, employee, agent, tree):
    article = self_help.article_save(
        node=tree["laptop"], author=agent, title_en="Laptop first aid", title_de="", body_en="Restart.", body_de=""
    )
    client.force_login(employee)

    picker = client.get(NEW, {"source": tree["laptop"].pk}).content.decode()
    here = client.get(NEW, {"source": tree["laptop"].pk, "here": "1"})
    form = client.get(NEW, {"source": tree["laptop"].pk, "here": "1", "help": article.pk})

    assert "Laptop first aid" in picker and "Still stuck? Choose below what fits best." in picker
    assert "tickets/self_help_article.html" in [t.name for t in here.templates]
    assert f"help={article.pk}&amp;here=1" in here.content.decode()
    assert "tickets/ticket_form.html" in [t.name for t in form.templates]
