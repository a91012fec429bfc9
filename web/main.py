# Entry point of the page: everything lives in the pyapp package.
# A boot that fails shows boot.js's friendly error screen (with a reload button), never a
# traceback; the details go to the browser console.
try:
    from pyapp.browser.shell import start

    await start()  # PyScript runs this file with top-level await
except Exception as exc:
    import traceback

    from js import CustomEvent, console, document

    console.error("The app could not start:\n" + "".join(traceback.format_exception(exc)))
    document.dispatchEvent(CustomEvent.new("pyauth:boot-failed"))
