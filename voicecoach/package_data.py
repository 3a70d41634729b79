"""The package's own data files (voicecoach/data): the spoken lines, and any data file's text or YAML by name."""
from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable


def data_file(name: str) -> Traversable:
    return resources.files("voicecoach.data").joinpath(name)


def data_text(name: str) -> str:
    return data_file(name).read_text("utf-8")


def load_yaml(name: str):
    return yaml.safe_load(data_text(name))


@lru_cache(maxsize=1)
def lines() -> dict[str, str]:
    """Every sentence the user hears or reads, by key (lines.en.yaml)."""
    return load_yaml("lines.en.yaml")
