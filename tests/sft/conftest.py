"""Every test of this room builds its base models in one session-wide temporary cache, never in ~/.cache."""

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def base_cache(tmp_path_factory):
    path = tmp_path_factory.mktemp("base_cache")
    old = os.environ.get("BAYES_AGENT_CACHE")
    os.environ["BAYES_AGENT_CACHE"] = str(path)
    yield path / "base"
    if old is None:
        os.environ.pop("BAYES_AGENT_CACHE", None)
    else:
        os.environ["BAYES_AGENT_CACHE"] = old
