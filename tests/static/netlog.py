"""What a page fetched over the network, from the Chrome DevTools Protocol.

    log = NetworkLog(page)
    page.goto(url)
    log.bytes_on_the_wire()     # headers + bodies as transferred (gzip included)

Only real network traffic: responses made in the page (the runtime loader's
gunzipped ``Response`` objects, blob: URLs) never reach CDP's network domain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import Page


@dataclass
class Fetched:
    url: str
    method: str
    status: int | None = None
    encoded_bytes: int = 0
    from_cache: bool = False
    finished: bool = False


@dataclass
class NetworkLog:
    page: Page
    by_id: dict[str, Fetched] = field(default_factory=dict)

    def __post_init__(self) -> None:
        cdp = self.page.context.new_cdp_session(self.page)
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.responseReceived", self._received)
        cdp.on("Network.requestServedFromCache", self._cached)
        cdp.on("Network.loadingFinished", self._finished)
        cdp.send("Network.enable")
        self.cdp = cdp

    def _sent(self, e: dict[str, Any]) -> None:
        url = e["request"]["url"]
        if url.startswith(("http:", "https:")):
            # A redirect reuses the request id: keep the first hop under its own key.
            rid = e["requestId"]
            if rid in self.by_id:
                self.by_id[rid + "/redirected"] = self.by_id.pop(rid)
            self.by_id[rid] = Fetched(url, e["request"]["method"])

    def _received(self, e: dict[str, Any]) -> None:
        if (f := self.by_id.get(e["requestId"])) is not None:
            f.status = e["response"]["status"]
            f.from_cache = f.from_cache or bool(e["response"].get("fromDiskCache"))

    def _cached(self, e: dict[str, Any]) -> None:
        if (f := self.by_id.get(e["requestId"])) is not None:
            f.from_cache = True

    def _finished(self, e: dict[str, Any]) -> None:
        if (f := self.by_id.get(e["requestId"])) is not None:
            f.encoded_bytes = int(e["encodedDataLength"])
            f.finished = True

    @property
    def fetched(self) -> list[Fetched]:
        return list(self.by_id.values())

    def urls(self) -> list[str]:
        return [f.url for f in self.fetched]

    def fetched_twice(self) -> list[str]:
        urls = [f"{f.method} {f.url}" for f in self.fetched]
        return sorted({u for u in urls if urls.count(u) > 1})

    def bytes_on_the_wire(self) -> int:
        return sum(f.encoded_bytes for f in self.fetched)
