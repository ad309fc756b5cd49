"""Debian's chromium as the browser tests and the app benchmark launch it (no pytest here)."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Locator, Page, Playwright

CHROMIUM = Path("/usr/bin/chromium")
NOTICE_START = "clinassist supports, and does not replace"  # ends every final answer
BOT_MESSAGES = "#chat [data-testid='bot']"
# Without the background-networking flags Chromium keeps dialling Google on this closed network.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch_chromium(playwright: Playwright) -> Browser:
    """Headless Debian chromium with a fresh temporary profile (never `playwright install`)."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
    )


def bot_messages(page: Page) -> Locator:
    """The chat's bot messages: tool steps and answers."""
    return page.locator(BOT_MESSAGES)


def ask_in_page(page: Page, question: str, files: tuple[Path, ...] = ()) -> None:
    """Attach `files` (once the upload is taken), type a question into the chat box and press
    Enter, as a clinician does."""
    box = page.locator("#chat-input")
    if files:
        box.locator("input[type='file']").set_input_files([str(f) for f in files])
        box.locator("[data-testid='submit-button']:not([disabled])").wait_for()
    box.locator("textarea").fill(question)
    box.locator("textarea").press("Enter")


def answer_so_far(page: Page) -> str:
    """The answer as the page shows it while it streams: the last bot message once it holds
    answer text; "" while the page shows only the question and tool steps (titled "🛠️ name")."""
    bots = bot_messages(page)
    text = bots.last.inner_text().strip() if bots.count() else ""
    return "" if text.startswith("🛠") else text


def finished_answers(page: Page) -> Locator:
    """The answers the page shows as final (with the notice)."""
    return bot_messages(page).filter(has_text=NOTICE_START)
