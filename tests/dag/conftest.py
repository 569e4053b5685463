"""One hypothesis space per test session: its expected-value table takes seconds to fill."""

from __future__ import annotations

import pytest

from bayes_agent.dag.world import DagConfig, HypothesisSpace


@pytest.fixture(scope="session")
def space3() -> HypothesisSpace:
    return HypothesisSpace.shared(DagConfig(max_edges=3))
