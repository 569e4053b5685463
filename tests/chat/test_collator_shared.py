"""The collator's per-batch checks run on whole features, and its counters stay exact when several
processes, or several DataLoaders at once, build batches with it."""

from __future__ import annotations

import pickle
import sys
import time

import pytest

torch = pytest.importorskip("torch")

from bayes_agent.errors import InvalidArgument  # noqa: E402
from neural.chat import collator as collator_module  # noqa: E402
from neural.chat.collator import ChatCollator  # noqa: E402
from neural.masking import IGNORE_INDEX  # noqa: E402


def _features(n: int) -> list[dict]:
    return [{"input_ids": list(range(1, 3 + k % 4)), "labels": [IGNORE_INDEX] + list(range(2, 3 + k % 4)),
             "label_mode": "interventional"} for k in range(n)]


def test_good_features_are_checked_whole_not_token_by_token(monkeypatch) -> None:
    """Lists, numpy arrays and tensors of token ids pass without the element-by-element walk (which
    only names the first bad element of a feature that fails)."""
    np = pytest.importorskip("numpy")

    def walk(*args, **kwargs):
        raise AssertionError("a good feature was checked token by token")

    monkeypatch.setattr(collator_module, "_one_by_one", walk)
    ids = list(range(5, 505))
    labels = [IGNORE_INDEX] * 250 + ids[250:]
    features = [{"input_ids": ids, "labels": labels, "label_mode": "interventional"},
                {"input_ids": np.array(ids), "labels": torch.tensor(labels), "label_mode": "interventional"},
                {"input_ids": tuple(np.int64(x) for x in ids[:3]), "labels": [1, 2, 3], "label_mode": "interventional"}]
    batch = ChatCollator(pad_token_id=0)(features)
    assert batch["input_ids"][0].tolist() == ids and batch["labels"][1].tolist() == labels
    assert batch["attention_mask"].sum().item() == 500 + 500 + 3


def test_a_token_id_beyond_int64_is_named() -> None:
    with pytest.raises(InvalidArgument, match=r"feature 0: input_ids\[1\] is 9223372036854775808, not a token id"):
        ChatCollator(pad_token_id=0)([{"input_ids": [1, 2 ** 63], "labels": [1, 2]}])


@pytest.mark.skipif(sys.platform != "linux", reason="the slowed update reaches the workers through fork")
def test_two_dataloaders_sharing_one_collator_at_once_count_every_batch(monkeypatch) -> None:
    """Two DataLoaders with one worker each (Trainer's training and evaluation loaders share its
    collator) used to add to the same row, worker 0's, each by its own read-add-write: with the
    update slowed down, one loader's counts overwrote the other's. Both now count, exactly."""
    from torch.utils.data import DataLoader

    real = torch.Tensor.__iadd__

    def slow_add(self, other):  # the counters' read-add-write, widened so that the two overlap
        if self.dtype == torch.long and tuple(self.shape) == (len(collator_module._COUNTERS),):
            before = self.clone()
            time.sleep(0.05)
            return self.copy_(before + other)
        return real(self, other)

    monkeypatch.setattr(torch.Tensor, "__iadd__", slow_add)
    features = _features(24)
    alone = ChatCollator(pad_token_id=0)
    alone(features)
    shared = ChatCollator(pad_token_id=0)
    loaders = [DataLoader(features, batch_size=3, collate_fn=shared, num_workers=1, multiprocessing_context="fork")
               for _ in range(2)]
    for a, b in zip(*loaders):
        assert a["input_ids"].shape == b["input_ids"].shape
    assert (shared.examples, shared.tokens, shared.supervised_tokens) == (
        2 * alone.examples, 2 * alone.tokens, 2 * alone.supervised_tokens)


def test_a_pickled_copy_counts_on_its_own() -> None:
    """The lock that guards the shared counters goes to worker processes as they start; an ordinary
    pickle (or deepcopy) of the collator is a copy with counters of its own, from the counts so far."""
    col = ChatCollator(pad_token_id=0)
    col(_features(4))
    copy = pickle.loads(pickle.dumps(col))
    copy(_features(2))
    assert (col.examples, copy.examples) == (4, 6)
