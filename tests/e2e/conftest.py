"""Browser harness: Playwright drives Debian's Chromium (/usr/bin/chromium) against pytest-django's
live server. Screenshots go to test-output/screenshots/. A missing Chromium is an error, not a skip."""

import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

# Playwright's sync API runs an event loop in this thread; Django's async-safety check would
# otherwise refuse ORM calls made by the test itself.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, live_server, request):
    context = browser.new_context(viewport={"width": 420, "height": 900}, locale="en-US")
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    pg.base_url = live_server.url
    # Every page runs under the Content-Security-Policy: anything it blocks fails the test.
    blocked = []
    pg.on("console", lambda msg: blocked.append(msg.text) if "Content Security Policy" in msg.text else None)
    yield pg
    OUTPUT.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(OUTPUT / f"{request.node.name}-final.png"), full_page=True)
    context.close()
    assert blocked == [], "the Content-Security-Policy blocked: " + "; ".join(blocked)


SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(params=list(SIZES))
def sized_page(browser, live_server, request):
    """A page at desktop (1280x900) or phone (390x844) size, under the same CSP watch as `page`.
    `page.size` names the size, for screenshot names."""
    context = browser.new_context(viewport=SIZES[request.param], locale="en-US")
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    pg.base_url = live_server.url
    pg.size = request.param
    blocked = []
    pg.on("console", lambda msg: blocked.append(msg.text) if "Content Security Policy" in msg.text else None)
    yield pg
    context.close()
    assert blocked == [], "the Content-Security-Policy blocked: " + "; ".join(blocked)


def use_language(page, code: str) -> None:
    """Switch the browser to a language the way the language menu does (Django's cookie)."""
    page.context.add_cookies([{"name": "django_language", "value": code, "url": page.base_url}])


def shot(page, name: str) -> Path:
    """Save a named screenshot of the current page and return its path."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    path = OUTPUT / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def login(page, username: str, password: str) -> None:
    page.goto(page.base_url + "/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("[data-testid=login-form] button[type=submit]")
    page.wait_for_selector(f"text={username}")
