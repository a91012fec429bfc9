"""The playground's session timeline: pure geometry, and the view's text equivalent."""

from __future__ import annotations

import pytest

from pyapp.timeline import layout
from tests.unit.conftest import WorldFactory
from tests.unit.test_app import Page
from tokensession.cookies import Session

pytestmark = pytest.mark.anyio
TOKEN = Session("a", "r", 20_000, 20)  # a 20 s token ending at t = 20 s: the axis is -20 s .. 20 s


def test_now_moves_from_the_middle_to_the_end_of_the_axis() -> None:
    at = [layout(t, TOKEN, window_ms=5000, warn_lead_ms=0, refreshes_ms=[]) for t in (0, 10_000, 20_000, 30_000)]
    assert [m.now for m in at if m] == [0.5, 0.75, 1.0, 1.0]
    first = at[0]
    assert first is not None and first.window_from == 0.875 and first.warn_at is None
    assert (first.left_ms, first.life_ms) == (20_000, 20_000)


def test_marks_are_the_refreshes_inside_the_axis() -> None:
    m = layout(5_000, TOKEN, window_ms=5000, warn_lead_ms=10_000, refreshes_ms=[-30_000, -10_000, 0])
    assert m is not None and m.marks == (0.25, 0.5) and m.warn_at == 0.75


def test_no_picture_without_a_readable_session() -> None:
    assert layout(0, Session(), window_ms=1, warn_lead_ms=0, refreshes_ms=[]) is None
    assert layout(0, Session("a", "r", None, 20), window_ms=1, warn_lead_ms=0, refreshes_ms=[]) is None


async def test_the_playground_draws_the_session_and_says_it_in_words(make_world: WorldFactory) -> None:
    world = make_world(access_ttl=20, window=5, idle_warning_seconds=60)
    p = Page(world, "#/playground")
    p.app.start()
    await p.sign_in()
    view = p.app.view
    world.clock.advance(16)
    await p.app.call("GET", "me")  # inside the 5 s window: refreshes
    await p.settle()
    world.clock.advance(2)
    view.update()  # type: ignore[union-attr]
    text = p.screen.text_of("session-timeline-text")
    assert text.startswith("Access token: 18 s of 20 s left.")
    assert "Refresh window: the last 5 s." in text
    assert "Idle warning: 10 s before expiry." in text  # min(60, 20 / 2)
    assert "Refreshes so far: 1." in text
    assert "Refresh token: 23 h 59 min left." in text  # refresh_ttl 86400 in the test API
    assert p.screen._ref("tl-now").attrs["style"] == "transform: translateX(55.00%)"  # type: ignore[union-attr]
    assert p.screen._ref("tl-window").attrs["style"] == "left: 87.50%"  # type: ignore[union-attr]
    assert p.screen._ref("tl-warn").attrs["style"] == "left: 75.00%"  # type: ignore[union-attr]
    assert "linear-gradient" in p.screen._ref("tl-marks").attrs["style"]  # type: ignore[union-attr]
    p.app.set_lang("zh")
    p.app.view.update()  # type: ignore[union-attr]
    assert p.screen.text_of("session-timeline-text").startswith("访问令牌:剩余 18 秒(共 20 秒)。")
    p.app.view.unmount()  # type: ignore[union-attr]
