"""Where the session lives in the page: ``document.cookie`` (README, "Cookies")."""

from __future__ import annotations

from pyscript import document, window  # type: ignore[import-not-found]


class DocumentCookieJar:
    """The ``CookieJar`` seam over ``document.cookie``.

    >>> jar = DocumentCookieJar()                                    # doctest: +SKIP
    >>> jar.write("utilTime=1800000000000; Path=/; SameSite=Strict")  # doctest: +SKIP
    >>> "utilTime=1800000000000" in jar.read()                        # doctest: +SKIP
    True
    """

    def read(self) -> str:
        return str(document.cookie)

    def write(self, assignment: str) -> None:
        document.cookie = assignment


def base_path() -> str:
    """The app's base path (cookie ``Path``): the folder of the page, e.g. ``/`` or ``/repo/``.

    >>> base_path()   # on https://user.github.io/repo/index.html   # doctest: +SKIP
    '/repo/'
    """
    path = str(window.location.pathname)
    return path[: path.rfind("/") + 1] or "/"


def is_https() -> bool:
    """Whether the page came over https (cookies then get ``Secure``)."""
    return str(window.location.protocol) == "https:"
