"""The DAG world's task samplers take numpy integer counts as they take ints (and refuse bool and float)."""

from __future__ import annotations

import numpy as np
import pytest

from bayes_agent.errors import InvalidArgument


@pytest.mark.parametrize("kind", [int, np.int64])
def test_the_dag_samplers_take_numpy_integer_counts(kind, space3) -> None:
    from bayes_agent.dag.oracle import oracle_tasks
    from bayes_agent.dag.world import sample_tasks

    assert len(sample_tasks(space3, "train", kind(3), np.random.default_rng(0))) == 3
    assert len(oracle_tasks(space3, kind(2), np.random.default_rng(0))) == 2
    for bad in (True, 3.0):
        with pytest.raises(InvalidArgument, match=r"^the number of tasks must be a positive int"):
            sample_tasks(space3, "train", bad, np.random.default_rng(0))
