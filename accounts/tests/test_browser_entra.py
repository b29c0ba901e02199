"""Sign in with Microsoft in headless Chromium: the login button, the (fake) Microsoft account picker,
and back to the dashboard, through real redirects, cookies and the Content-Security-Policy."""

import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from playwright.sync_api import Page, expect
from social_django.models import UserSocialAuth

from accounts.tests.entra_fixtures import PROVIDER

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("entra")]


def test_sign_in_with_microsoft_by_picking_the_account(page: Page, live_server, fake):
    jonas = fake.add_user(
        name="Jonas Browserlein", upn="jonas.browserlein@contoso.example", given_name="Jonas", family_name="Browserlein"
    )
    fake.add_user(name="Someone Else", upn="someone.else@contoso.example")

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("button", name="Log in with Microsoft").click()

    # The fake's account picker (no sign_in_as): the browser really left the site.
    expect(page).to_have_url(re.compile(rf"^{re.escape(fake.authority)}/oauth2/v2\.0/authorize"))
    page.get_by_role("button", name=re.compile("Jonas Browserlein")).click()

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hello, Jonas")
    user = UserSocialAuth.objects.get(provider=PROVIDER, uid=jonas.oid).user
    assert user.email == "jonas.browserlein@contoso.example"
    sessions = [session.get_decoded() for session in Session.objects.all()]
    assert any(data.get(SESSION_KEY) == str(user.pk) for data in sessions)
