"""Where the session lives in the page: ``document.cookie`` (contract section 4)."""

from __future__ import annotations

from js import document, location  # type: ignore[import-not-found]


class DocumentCookieJar:
    """The ``CookieJar`` seam over ``document.cookie``."""

    def read(self) -> str:
        return str(document.cookie)

    def write(self, assignment: str) -> None:
        document.cookie = assignment


def base_path() -> str:
    """The app's base path (cookie ``Path``): the folder of the page, e.g. ``/`` or ``/repo/``."""
    path = str(location.pathname)
    return path[: path.rfind("/") + 1] or "/"


def is_https() -> bool:
    return str(location.protocol) == "https:"
