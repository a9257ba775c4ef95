import pytest
from django.contrib.auth import get_user_model

from .conftest import shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_register_log_out_and_log_in_through_the_pages(page):
    page.goto(page.base_url + "/")
    page.click("[data-testid=register-link]")
    page.fill("input[name=username]", "walker")
    page.fill("input[name=password1]", "Quiet-Harbor-42")
    page.fill("input[name=password2]", "Quiet-Harbor-42")
    page.click("[data-testid=register-form] button[type=submit]")
    page.wait_for_selector("[data-testid=logout]")
    assert get_user_model().objects.filter(username="walker").exists()
    assert page.locator(".who").inner_text() == "walker"

    page.click("[data-testid=logout]")
    page.wait_for_selector("[data-testid=login-link]")
    page.click("[data-testid=login-link]")
    page.fill("input[name=username]", "walker")
    page.fill("input[name=password]", "Quiet-Harbor-42")
    page.click("[data-testid=login-form] button[type=submit]")
    page.wait_for_selector("[data-testid=logout]")
    path = shot(page, "accounts-logged-in")
    assert path.stat().st_size > 1000


def test_register_page_shows_password_errors(page):
    page.goto(page.base_url + "/accounts/register/")
    page.fill("input[name=username]", "shorty")
    page.fill("input[name=password1]", "123")
    page.fill("input[name=password2]", "123")
    page.click("[data-testid=register-form] button[type=submit]")
    page.wait_for_selector(".errorlist")
    assert not get_user_model().objects.filter(username="shorty").exists()


def test_language_switch_shows_chinese(page):
    page.goto(page.base_url + "/")
    page.select_option("[data-testid=language]", "zh-hans")
    page.wait_for_selector("html[lang=zh-hans]")
    assert "停车券" in page.content()
    shot(page, "home-zh-hans")
