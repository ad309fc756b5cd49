"""Debian's chromium as the browser tests and the app benchmark launch it (no pytest here)."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page, Playwright

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


def ask_in_page(page: Page, question: str) -> None:
    """Type a question into the chat box and press Enter, as a clinician does."""
    box = page.locator("#chat-input textarea")
    box.fill(question)
    box.press("Enter")


def answer_so_far(page: Page) -> str:
    """The answer as the page shows it while it streams: the last bot message once it holds
    answer text; "" while the page shows only the question and tool steps (titled "🛠️ name")."""
    bots = page.locator(BOT_MESSAGES)
    text = bots.last.inner_text().strip() if bots.count() else ""
    return "" if text.startswith("🛠") else text


def finished_answers(page: Page) -> int:
    """Answers the page shows as final (with the notice)."""
    return page.locator(BOT_MESSAGES).filter(has_text=NOTICE_START).count()
