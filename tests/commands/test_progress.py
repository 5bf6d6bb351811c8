"""The terminal side of the CLI: progress line width, -v after the subcommand, default folders."""

from __future__ import annotations

import io

import pytest

from stream_restore.commands.progress import ProgressLine


@pytest.mark.parametrize("columns", [40, 200])
def test_the_progress_line_is_cut_to_the_terminal_width(
    monkeypatch: pytest.MonkeyPatch, columns: int
) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    out = io.StringIO()
    line = ProgressLine("restoring", enabled=True, stream=out, hz=1e9)
    line.show(120, 1000, 3.0, 40.0)
    line.show(240, 1000, 6.0, 40.0)
    line.finish()
    updates = out.getvalue().rstrip("\n").split("\r")[1:]
    assert len(updates) == 2
    for update in updates:
        text = update.removesuffix("\x1b[K")
        assert len(text) <= columns - 1 and text.startswith("restoring")
    assert updates[1].startswith("restoring 240/1000")


def test_verbose_works_before_and_after_the_subcommand() -> None:
    from stream_restore.cli import _build_parser

    parser = _build_parser("restore")
    assert parser.parse_args(["restore", "a", "b", "-vv"]).verbose == 2
    assert parser.parse_args(["-v", "restore", "a", "b"]).verbose == 1
    assert parser.parse_args(["restore", "a", "b"]).verbose == 0


def test_the_engine_cache_defaults_to_the_user_cache_folder_not_the_current_one(
    monkeypatch, tmp_path
) -> None:
    from stream_restore.cli import _build_parser
    from stream_restore.commands.restore import build_job

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    args = _build_parser("restore").parse_args(["restore", "in.mp4", "out.mp4"])
    assert build_job(args).backend_options.cache_dir == str(tmp_path / "cache" / "stream-restore" / "engines")
