"""Which Chromium drives the page headless, and with which switches: one list for the browser tests
(``tests/web``) and the screenshots of the docs (``docs/make_screenshots.py``).

Debian's ``chromium`` binary (``apt-get install chromium``) is used through Playwright, never a browser
that Playwright downloads.
"""

from __future__ import annotations

import os

# Headless and quiet: without the background-networking switches Chromium keeps calling Google's
# services (updates, safe browsing, sync), which a closed network answers with timeouts.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium_path() -> str:
    """The Chromium binary: ``$DPST_CHROMIUM``, else Debian's ``/usr/bin/chromium``."""
    return os.environ.get("DPST_CHROMIUM", "/usr/bin/chromium")
