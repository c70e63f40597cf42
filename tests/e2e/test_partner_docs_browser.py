"""/partner-api/docs in a real headless Chromium: Swagger UI, from the app alone, showing an operation's schemas."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run")


@pytest.fixture
def browser():
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
    for flag in (*FLAGS, "--window-size=1280,2400"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()


def test_the_docs_page_shows_an_operation_with_its_request_and_response_schemas(stack, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{stack.base_url}/partner-api/docs")
    wait = WebDriverWait(browser, 30)
    operation = wait.until(seen.element_to_be_clickable((By.ID, "operations-memberships-createProgramMembership")))
    assert "Punchcard partner API" in browser.find_element(By.TAG_NAME, "body").text
    operation.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    wait.until(lambda b: "Idempotency-Key" in operation.text and "RATE_LIMITED" in operation.text)
    text = operation.text
    assert "createProgramMembership" in text and "Request body" in text
    for status in ("200", "400", "401", "409", "413", "429", "503"):
        assert status in text
    operation.find_element(By.XPATH, ".//button[normalize-space()='Schema']").click()  # the request body's schema
    wait.until(lambda b: "MembershipCreate" in operation.text and "external_user_id" in operation.text)
    assert "EMAIL_ALREADY_EXISTS" in operation.text and "IDEMPOTENCY_KEY_REUSED" in operation.text
    loaded = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert loaded and all(url.startswith(stack.base_url) for url in loaded), loaded  # nothing from outside
    screenshot = tmp_path / "partner-docs.png"
    assert browser.save_screenshot(str(screenshot)) and screenshot.stat().st_size > 10_000
