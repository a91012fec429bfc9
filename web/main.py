# Entry point of the page: everything lives in the pyapp package.
# A boot that fails shows boot.js's friendly error screen (with a reload button), never a
# traceback; the details go to the browser console.
import sys

from js import document


def unpack(path, dest="."):
    """The entries of the zip at ``path`` as files under ``dest``; how many there were.

    MicroPython pages get ``pyapp.zip`` as a file and unpack it here: PyScript's own ``"./*"``
    unpacks through zip.js, a stream and web workers per entry, 150-300 ms of every visit
    against 20-50 ms here (bench/README.md). Entries are stored or deflated (MicroPython's
    ``deflate``; CPython's ``zlib``, where the tests run it); names are the packages' own,
    never absolute.
    """
    import io
    import os
    import struct

    with open(path, "rb") as f:
        data = f.read()
    end = data.rfind(b"PK\x05\x06")  # the end of the central directory
    if end < 0:
        raise ValueError(f"{path}: not a zip")
    count, _size, at = struct.unpack_from("<HII", data, end + 10)
    folders = set()
    for _ in range(count):
        method = struct.unpack_from("<H", data, at + 10)[0]
        packed, _unpacked, name_len, extra_len, comment_len = struct.unpack_from("<IIHHH", data, at + 20)
        local = struct.unpack_from("<I", data, at + 42)[0]
        name = str(data[at + 46 : at + 46 + name_len], "utf-8")
        at += 46 + name_len + extra_len + comment_len
        if name.startswith("/") or ".." in name.split("/"):
            raise ValueError(f"{path}: entry {name!r} would leave {dest!r}")
        local_name_len, local_extra_len = struct.unpack_from("<HH", data, local + 26)
        start = local + 30 + local_name_len + local_extra_len
        body = data[start : start + packed]
        if method == 8:
            body = _inflate(io.BytesIO(body))
        elif method != 0:
            raise ValueError(f"{path}: entry {name!r} uses compression method {method}")
        folder = name.rpartition("/")[0]
        if folder and folder not in folders:
            made = dest
            for part in folder.split("/"):
                made += "/" + part
                try:  # noqa: SIM105 (MicroPython's contextlib is in the zip this unpacks)
                    os.mkdir(made)
                except OSError:  # there already
                    pass
            folders.add(folder)
        if not name.endswith("/"):
            with open(dest + "/" + name, "wb") as out:
                out.write(body)
    return count


def _inflate(stream):
    try:
        import deflate  # MicroPython
    except ImportError:
        import zlib

        return zlib.decompress(stream.read(), -15)
    return deflate.DeflateIO(stream, deflate.RAW, 15).read()  # zip's 32 KiB window


try:
    if sys.implementation.name == "micropython":
        unpack("pyapp.zip")  # micropython.toml fetches it as a file
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
