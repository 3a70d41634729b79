"""Shared fixtures: every test gets its own home, one model cache serves the run, `pulse` needs the private PulseAudio."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

from tests.harness import HOME_FOLDERS, home_environment, require_pulse, share_cache

# What the run must leave exactly as it found: the real user's folders, read before any test module is imported.
REAL_HOME = Path(os.path.expanduser("~"))
WATCHED = [REAL_HOME / folder for folder in HOME_FOLDERS.values()]


@pytest.fixture(scope="session")
def pulse() -> None:
    require_pulse()


def home_snapshot(folders: list[Path]) -> dict[str, tuple]:
    """(kind, size, mtime) of each folder, every entry directly in it, and everything under an entry named after
    voicecoach; lstat, so a symbolic link is seen, not followed."""
    seen: dict[str, tuple] = {}

    def note(path: Path) -> None:
        try:
            info = path.lstat()
        except FileNotFoundError:
            return
        seen[str(path)] = (info.st_mode >> 12, info.st_size, info.st_mtime_ns)

    for folder in folders:
        note(folder)
        if not folder.is_dir() or folder.is_symlink():
            continue
        for entry in folder.iterdir():
            note(entry)
            if "voicecoach" in entry.name.lower() and entry.is_dir() and not entry.is_symlink():
                for below in entry.rglob("*"):
                    note(below)
    return seen


def pytest_configure(config: pytest.Config) -> None:
    config.stash[HOME_BEFORE] = home_snapshot(WATCHED)


HOME_BEFORE = pytest.StashKey[dict]()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if anything in the real ~/.cache, ~/.config, ~/.local/share or ~/.local/state changed."""
    before, after = session.config.stash[HOME_BEFORE], home_snapshot(WATCHED)
    changed = sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))
    if not changed:
        return
    shown = [f"{path} ({'new' if path not in before else 'gone' if path not in after else 'changed'})"
             for path in changed[:20]]
    message = (f"the test run (or another process meanwhile) changed the real home in {len(changed)} place(s): "
               + "; ".join(shown))
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("")
        reporter.write_line(f"HOME TOUCHED: {message}", red=True, bold=True)
    else:
        print(f"HOME TOUCHED: {message}")
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def shared_cache(_session_home: None, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    """One voicecoach cache for the whole run. When the run has real-sound tests (they start `voicecoach run`, which
    listens with Moonshine), Moonshine's conversion is built here first, so that no timed test waits for it and no two
    processes build it at once."""
    cache = tmp_path_factory.mktemp("voicecoach-cache")
    if any(item.get_closest_marker("sound") for item in request.session.items):
        from voicecoach.listening.moonshine import MoonshineUnavailable, int8_model, model_dir
        try:
            for name in ("encoder_model.ort", "decoder_model_merged.ort"):
                int8_model(model_dir() / name, cache)
        except MoonshineUnavailable:
            pass  # only a head start: the tests that need Moonshine fail on their own, with its message
    return cache


@pytest.fixture(scope="session", autouse=True)
def _session_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A home for session fixtures (and what they start), which run outside any one test's home."""
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in home_environment(home).items():
            patch.setenv(name, value)
        yield


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path,
                   monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test, and every process it starts, sees a fresh empty HOME and XDG folders (XDG_RUNTIME_DIR is left to
    scripts/pulse.sh), except that $XDG_CACHE_HOME/voicecoach is the run's shared cache."""
    home = tmp_path_factory.mktemp("home")
    share_cache(home, shared_cache)
    for name, value in home_environment(home).items():
        monkeypatch.setenv(name, value)
    return home


@pytest.hookimpl(tryfirst=True)  # before -m deselects by mark
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test that needs the private PulseAudio (through the `pulse` fixture) is a `sound` test."""
    for item in items:
        if "pulse" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.sound)
