"""A guest opens their magic link in a real headless Chromium and sees their card."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
import requests

from e2e_stack import signed_post
from factories import shopify_order
from support import TEST_ENV, wait_for

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
KEY = {"X-API-Key": TEST_ENV["DEMO_CAFE_API_KEY"]}


@pytest.fixture
def browser():
    """Debian's Chromium driven by its own chromedriver; skipped without them, except in CI where it must run."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing:
        reason = f"{', '.join(missing)} not installed (apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser test: {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, "--window-size=480,1400"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()


def a_member_with_points(stack) -> str:
    """A guest signed up through the partner API who then paid 62.50 online (625 points)."""
    n = random.randrange(10**9)
    email = f"guest-{n}@example.com"
    member = requests.post(
        f"{stack.base_url}/partner-api/v2/program-memberships",
        headers=KEY,
        timeout=10,
        json={"external_user_id": f"guest-{n}", "email": email, "first_name": "Grace"},
    ).json()["membership"]
    order = shopify_order(order_id=n, subtotal="62.50", email=email, customer={"id": 10**15 + n, "email": email})
    assert signed_post(stack, "orders/paid", order).status_code == 200
    wait_for(
        lambda: (
            requests.get(
                f"{stack.base_url}/partner-api/v2/program-memberships/{member['id']}", headers=KEY, timeout=5
            ).json()["membership"]["points"]
            == 625
        )
    )
    return member["id"]


def test_a_guest_opening_the_magic_link_sees_balance_tier_and_rewards(stack, browser, tmp_path):
    member_id = a_member_with_points(stack)
    link = requests.post(
        f"{stack.base_url}/partner-api/v2/program-memberships/{member_id}/magic-link", headers=KEY, timeout=10
    ).json()["magic_link"]
    browser.get(link)
    from selenium.webdriver.common.by import By

    assert browser.title == "Demo Cafe rewards"
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=balance]").text == "625"
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=tier]").text == "Bronze"
    page = browser.find_element(By.TAG_NAME, "body").text
    assert "Hi Grace!" in page and "Free Cold Brew" in page and "Ready to redeem" in page
    assert "375 more points to reach" in page and "Points earned" in page
    screenshot = tmp_path / "member-page.png"
    assert browser.save_screenshot(str(screenshot)) and screenshot.stat().st_size > 10_000


def test_a_guest_opening_a_broken_link_sees_a_friendly_page(stack, browser):
    browser.get(f"{stack.base_url}/m/not-a-real-token")
    page = browser.find_element("tag name", "body").text
    assert "find this card" in page and "Traceback" not in page
