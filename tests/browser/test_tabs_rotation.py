"""R7 with several tabs kept active through several rotations (issue 11, item 5): exactly one
refresh per rotation, no sign-out, and a sign-out that reaches every tab with one ``logout``.
The counts of ``bench/tabs_bench.py`` (its times are the bench's business, not asserted here)."""

from __future__ import annotations

import argparse
import sys

from playwright.sync_api import BrowserContext

from tests.serverproc import ROOT, ServerProcess

sys.path.insert(0, str(ROOT / "bench"))

from tabs_bench import measure


def test_three_active_tabs_share_each_rotation_and_all_sign_out_together(
    shared_context: BrowserContext, server: ServerProcess
) -> None:
    shared_context.clear_cookies()
    args = argparse.Namespace(tabs=3, rotations=3, signouts=1, interval_ms=500)
    out = measure(shared_context, server.url, args)
    active = out["active"]
    assert active["refresh_calls"] == 3  # one per rotation: no tab refreshed what another had
    assert active["distinct_tokens_presented"] == 3  # no refresh token presented twice
    assert active["unauthorized"] == 0
    assert active["sign_outs"] == 0 and active["logout_calls"] == 0
    # measure() waited for every tab to reach the login route after the click.
    assert len(out["signout"]["runs"][0]["per_tab_ms"]) == 3
    assert out["signout"]["logout_calls"] == 1  # the other tabs did not call logout again
