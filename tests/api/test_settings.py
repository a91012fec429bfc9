"""Settings: validation and the per-user default store path."""

from __future__ import annotations

from pathlib import Path

import pytest

from authapi.settings import Settings, default_db_path


def test_default_path_follows_xdg_data_home() -> None:
    assert default_db_path({"XDG_DATA_HOME": "/data"}) == Path("/data/pyauth-spa/tokens.sqlite3")


def test_default_path_falls_back_to_local_share(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    expected = tmp_path / ".local/share/pyauth-spa/tokens.sqlite3"
    assert default_db_path({}) == expected
    assert default_db_path({"XDG_DATA_HOME": "relative/ignored"}) == expected


def test_db_path_wins_over_the_default(tmp_path: Path) -> None:
    assert Settings(db_path=tmp_path / "x.db").store_path() == tmp_path / "x.db"
    assert Settings(db_path=None).store_path() == default_db_path()


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ({"access_ttl": 0}, "positive"),
        ({"refresh_ttl": -1}, "positive"),
        ({"refresh_grace": -1}, "negative"),
        ({"users": []}, "user"),
    ],
)
def test_nonsense_is_refused(bad: dict[str, object], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        Settings(**bad)  # type: ignore[arg-type]


def test_is_demo_is_off_unless_asked_for() -> None:
    # An embedder who passes real users never publishes a password through GET info.
    assert Settings(users=[("alice", "s3cret")]).is_demo is False
    assert Settings().is_demo is False
