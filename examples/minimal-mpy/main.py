# Sign in, call `GET me`, show the answer: examples/minimal/main.py, on MicroPython. With no API
# at ../../api/v1 (a static host), the in-page demo API answers instead (from authapi's zip).
from pyscript import document

from authapi.inpage import in_page_demo
from tokensession import Config
from tokensession.browser.page import page_client

page = await page_client(Config(api_base="../../api/v1", demo_api="auto"), transport=in_page_demo())
await page.api.login("demo", "demo")
me = (await page.api.get("me")).json()
served_by = "the in-page demo API" if page.demo else "the API"
document.getElementById("me").textContent = f"GET me: {me} (answered by {served_by})"
document.documentElement.dataset.appState = "ready"
