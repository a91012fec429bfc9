# Entry point of the page: everything lives in the pyapp package.
from pyapp.browser.shell import start

await start()  # PyScript runs this file with top-level await
