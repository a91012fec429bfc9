# Entry point of the page: everything lives in the pyapp package.
# A boot that fails shows boot.js's friendly error screen (with a reload button), never a
# traceback; the details go to the browser console.
import sys

from js import document

try:
    if sys.implementation.name == "micropython":
        # What CPython's asyncio, collections, base64, ... have and MicroPython's lack
        # (micropython/lib/cpython_compat.py, in pyapp.zip), added before any app module imports.
        import cpython_compat  # noqa: F401

    # The memory snapshot holds the app's pure-Python modules, imported when it was made
    # (tools/make_snapshot.mjs). They stay only if they are the files PyScript just unpacked
    # from pyapp.zip; else they are dropped here and imported from those files.
    _snapshot = sys.modules.get("_pyodide_snapshot")
    _fresh = _snapshot is not None and hasattr(_snapshot, "check_app") and _snapshot.check_app()
    document.documentElement.dataset.appModules = "snapshot" if _fresh else "files"

    from pyapp.browser.shell import start

    await start()  # PyScript runs this file with top-level await
except Exception as exc:
    from js import CustomEvent, console

    try:
        import traceback  # on MicroPython a stand-in from pyapp.zip, which may be what failed

        details = "".join(traceback.format_exception(exc))
    except ImportError:
        details = f"{type(exc).__name__}: {exc}"
    console.error("The app could not start:\n" + details)
    document.dispatchEvent(CustomEvent.new("pyauth:boot-failed"))
