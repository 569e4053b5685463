"""Sequential arms (one training copy in memory at a time) equal in-memory pairing bit for bit."""

import pytest

import neural.sft.train as train_mod
from bayes_agent.errors import BayesAgentError
from neural.sft.train import SavedArms, TrainConfig, train_pair

from .conftest import same_weights

CFG = TrainConfig(epochs=2, lr=3e-3, warmup_steps=2, seed=0)
ARMS3 = ("obs", "do", "ao")


@pytest.mark.parametrize("lora_rank", [0, 4])
def test_sequential_equals_in_memory_bit_for_bit(micro_setup, tmp_path, lora_rank):
    model, exs, _, _ = micro_setup
    cfg = TrainConfig(**{**CFG.__dict__, "lora_rank": lora_rank})
    mem = train_pair(model, exs, cfg, arms=ARMS3, progress=False)
    seq = train_pair(model, exs, cfg, arms=ARMS3, sequential=True, checkpoint_dir=tmp_path, progress=False)
    assert isinstance(seq.models, SavedArms) and seq.arms == ARMS3
    for arm in ARMS3:
        assert same_weights(mem.models[arm], seq.models[arm]), arm
        assert mem.losses[arm] == seq.losses[arm]
    assert not same_weights(seq.models["obs"], seq.models["do"])
    assert (tmp_path / train_mod.INIT_FILE).exists()
    # the saved start is the model we passed in
    init = type(model)(model.config)
    from safetensors.torch import load_model

    load_model(init, str(tmp_path / train_mod.INIT_FILE))
    assert same_weights(init, model)


def test_sequential_without_a_directory_keeps_arms_in_a_temporary_one(micro_setup):
    model, exs, _, _ = micro_setup
    seq = train_pair(model, exs, CFG, sequential=True, stop_after=3, progress=False)
    mem = train_pair(model, exs, CFG, stop_after=3, progress=False)
    assert all(same_weights(mem.models[a], seq.models[a]) for a in ("obs", "do"))
    assert seq.models.paths["do"].exists()


def test_interrupted_sequential_run_resumes_to_the_same_weights(micro_setup, tmp_path, monkeypatch):
    model, exs, _, _ = micro_setup
    cfg = TrainConfig(**{**CFG.__dict__, "checkpoint_every": 3})
    full = train_pair(model, exs, cfg, arms=ARMS3, progress=False)
    real, calls = train_mod.TrainingArm.step, []

    def flaky(self, *a):
        calls.append(self.name)
        if len(calls) == len(exs) * 2 + 5:  # obs done (12 steps), do at its 5th step
            raise KeyboardInterrupt
        return real(self, *a)

    monkeypatch.setattr(train_mod.TrainingArm, "step", flaky)
    with pytest.raises(KeyboardInterrupt):
        train_pair(model, exs, cfg, arms=ARMS3, sequential=True, checkpoint_dir=tmp_path, progress=False)
    monkeypatch.setattr(train_mod.TrainingArm, "step", real)
    with pytest.raises(BayesAgentError, match="sequential"):
        train_pair(model, exs, cfg, arms=ARMS3, resume=tmp_path, progress=False)
    resumed = train_pair(model, exs, cfg, arms=ARMS3, sequential=True, checkpoint_dir=tmp_path,
                         resume=tmp_path, progress=False)
    for arm in ARMS3:
        assert same_weights(full.models[arm], resumed.models[arm]), arm
        assert resumed.losses[arm] == full.losses[arm]
