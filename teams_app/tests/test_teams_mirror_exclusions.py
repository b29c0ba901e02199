"""The admin and the password pages are never served under the Teams tab's /teams/app/ prefix, so
Teams (or anyone) can never frame them (C17: only the tab's own pages may be framed). Under the
prefix they redirect to the site itself, where they refuse every frame; in the tab, links to them
open a window of their own."""

import re

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

PREFIX = "/teams/app"


def excluded_paths(user) -> list[str]:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return [
        reverse("admin:index"),
        reverse("admin:login"),
        reverse("admin:accounts_user_changelist"),
        reverse("admin:tickets_problemsource_changelist"),
        reverse("accounts:password_change"),
        reverse("accounts:password_reset"),
        reverse("accounts:password_reset_done"),
        reverse("accounts:password_reset_confirm", args=[uid, default_token_generator.make_token(user)]),
        reverse("accounts:password_reset_complete"),
    ]


def refuses_every_frame(response) -> bool:
    return response["X-Frame-Options"] == "DENY" and "frame-ancestors 'none'" in response["Content-Security-Policy"]


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "admin"])
def test_under_the_tab_prefix_the_admin_and_password_pages_redirect_to_the_site(client, admin, signed_in):
    if signed_in:
        client.force_login(admin)

    for path in excluded_paths(admin):
        response = client.get(PREFIX + path)

        assert response.status_code == 302, path
        assert response["Location"] == path


@pytest.mark.parametrize("path", ["/admin/", "/accounts/password/"])
def test_on_the_site_itself_they_refuse_every_frame(client, admin, path):
    client.force_login(admin)

    response = client.get(client.get(PREFIX + path)["Location"])

    assert response.status_code == 200
    assert refuses_every_frame(response)


def test_the_redirect_keeps_the_query_and_the_unslashed_form(client, admin):
    client.force_login(admin)

    assert client.get(f"{PREFIX}/admin/accounts/user/?q=erika")["Location"] == "/admin/accounts/user/?q=erika"
    assert client.get(f"{PREFIX}/admin")["Location"] == "/admin"
    assert client.get(f"{PREFIX}/accounts/password")["Location"] == "/accounts/password"


def test_the_rest_of_the_site_is_still_served_in_the_tab(client, employee):
    client.force_login(employee)

    for path in ("/", reverse("accounts:profile"), reverse("tickets:list")):
        response = client.get(PREFIX + path)

        assert response.status_code == 200, path
        assert "https://teams.microsoft.com" in response["Content-Security-Policy"]
    # Paths that merely begin like an excluded one are not excluded.
    assert client.get(f"{PREFIX}/accounts/passwordless/").status_code == 404


def target_of_links(html: str, href_start: str) -> list[str | None]:
    """The target attribute of every link whose href starts with `href_start`."""
    targets = []
    for tag in re.findall(r"<a\b[^>]*>", html):
        href = re.search(r'href="([^"]*)"', tag)
        if href and href.group(1).startswith(href_start):
            target = re.search(r'target="([^"]*)"', tag)
            targets.append(target.group(1) if target else None)
    return targets


@pytest.mark.django_db
def test_in_the_tab_links_to_them_open_a_window_of_their_own(client, admin):
    client.force_login(admin)

    in_tab = client.get(f"{PREFIX}/accounts/profile/").content.decode()
    on_site = client.get("/accounts/profile/").content.decode()

    for start in (f"{PREFIX}/admin/", f"{PREFIX}/accounts/password/"):
        assert target_of_links(in_tab, start), start
        assert set(target_of_links(in_tab, start)) == {"_blank"}, start
    for start in ("/admin/", "/accounts/password/"):
        assert set(target_of_links(on_site, start)) == {None}, start


def test_the_tabs_login_page_opens_the_password_reset_in_a_window_of_its_own(client, db):
    page = client.get(f"{PREFIX}/accounts/login/").content.decode()

    assert target_of_links(page, f"{PREFIX}/accounts/password/reset/") == ["_blank"]
