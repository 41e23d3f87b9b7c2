"""The browser tests' fixtures: Chromium through Playwright (:mod:`support.pagecheck`)."""

from support.pagecheck import browser, open_tab, shots  # noqa: F401 (fixtures, found by pytest by name)
