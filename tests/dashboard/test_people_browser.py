"""The team in headless Chromium: the admin invites a colleague, who sets a password through
the link and logs in in another browser; the admin changes the role (the colleague's next page
shows it) and deactivates them (their session ends at once). Screenshots go to
``test-artifacts/dashboard/``."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from .conftest import Live, login_page, screenshot

pytestmark = pytest.mark.browser


def test_invite_change_role_and_deactivate_a_colleague(live: Live, browser: Browser) -> None:
    """Invitation link -> own password -> logged in as editor; made a viewer -> the edit form
    is gone on the next page; deactivated -> the next click lands on the login page."""
    admin_ctx = browser.new_context(locale="de-DE", timezone_id="Europe/Berlin")
    colleague_ctx = browser.new_context(locale="de-DE", timezone_id="Europe/Berlin")
    admin, colleague = admin_ctx.new_page(), colleague_ctx.new_page()
    episode = f"{live.url}/episodes/{live.ids['ep1']}"
    try:
        login_page(admin, live.url, "ada")
        admin.get_by_role("link", name="Personen").click()
        form = admin.get_by_test_id("add-user")
        form.get_by_label("Benutzername").fill("paula")
        form.get_by_label("Name", exact=True).fill("Paula Pieper")
        form.get_by_label("Rolle").select_option("editor")
        form.get_by_label("Einladungslink erzeugen").check()
        form.get_by_role("button", name="Hinzufügen").click()
        link = admin.get_by_test_id("secret-link").input_value()
        screenshot(admin, "40-invitation-link")
        assert link.startswith(live.settings.dashboard.public_url)

        colleague.goto(live.url + link[len(live.settings.dashboard.public_url):])
        expect(colleague.get_by_text("Hallo Paula Pieper")).to_be_visible()
        colleague.get_by_label("Neues Passwort").fill("paulas-passwort-1")
        colleague.get_by_label("Noch einmal").fill("paulas-passwort-1")
        colleague.get_by_role("button", name="Passwort speichern").click()
        expect(colleague.get_by_role("status")).to_have_text(
            "Ihr Passwort ist gesetzt. Bitte jetzt damit anmelden.")
        colleague.get_by_label("Benutzername").fill("paula")
        colleague.get_by_label("Passwort").fill("paulas-passwort-1")
        colleague.get_by_role("button", name="Anmelden").click()
        expect(colleague.get_by_role("heading", level=1)).to_have_text("Wir tun GUTes 2026")
        colleague.goto(episode)
        expect(colleague.get_by_role("button", name="Speichern")).to_be_visible()

        admin.goto(f"{live.url}/users")
        row = admin.get_by_test_id("user-paula")
        expect(row).to_contain_text("Bearbeiten")
        row.get_by_role("link").click()
        expect(admin.get_by_test_id("sessions")).to_have_text("1 Sitzung(en)")
        admin.get_by_label("Neue Rolle").select_option("viewer")
        admin.get_by_role("button", name="Rolle speichern").click()
        expect(admin.get_by_test_id("role")).to_have_text("Lesen")
        screenshot(admin, "41-role-changed")
        colleague.reload()
        expect(colleague.get_by_role("button", name="Speichern")).to_have_count(0)
        expect(colleague.locator("header")).to_contain_text("Paula Pieper (Lesen)")

        admin.get_by_role("button", name="Deaktivieren").click()
        expect(admin.get_by_role("status")).to_contain_text("ihre Sitzungen sind beendet")
        expect(admin.get_by_test_id("active")).to_have_text("deaktiviert")
        expect(admin.get_by_test_id("sessions")).to_have_text("0 Sitzung(en)")
        screenshot(admin, "42-deactivated")
        colleague.reload()
        expect(colleague.get_by_role("heading", level=1)).to_have_text("Anmelden")
        screenshot(colleague, "43-colleague-logged-out")
    finally:
        admin_ctx.close()
        colleague_ctx.close()
