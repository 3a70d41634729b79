"""The version has one source, pyproject.toml, which voicecoach reads back from the installed package's metadata."""
import re
from importlib.metadata import version
from pathlib import Path

import voicecoach
from voicecoach.cli import main


def test_the_version_is_the_one_in_pyproject(capsys):
    pyproject = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text("utf-8")
    declared = re.search(r'^version = "([^"]+)"', pyproject, re.MULTILINE)[1]
    assert voicecoach.__version__ == version("voicecoach") == declared
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"voicecoach {declared}\n"
