"""Mixed precision keeps float32 master weights: one paper-settings step moves essentially every
weight; pure bf16 (the old preset's behaviour) would round most of the update away."""

import copy

import pytest
import torch

import neural.sft.train as train_mod
from neural.sft.train import TrainConfig, train_pair

PAPER_STEP = dict(epochs=1, lr=2e-5, clip=1.0, weight_decay=0.0)  # §5.2's AdamW settings


def changed_fraction(before, after) -> float:
    """Share of all weight entries whose value differs after training (compared in float32)."""
    sa, sb = before.state_dict(), after.state_dict()
    n = sum(v.numel() for v in sa.values())
    return sum(int((sa[k].float() != sb[k].float()).sum()) for k in sa) / n


@pytest.mark.parametrize("load_dtype, precision", [
    (torch.float32, "fp32"), (torch.float32, "auto"), (torch.bfloat16, "bf16"), (torch.bfloat16, "fp32"),
])
def test_one_step_at_lr_2e5_changes_at_least_99_percent_of_weights(micro_setup, load_dtype, precision):
    model, exs, _, _ = micro_setup
    base = copy.deepcopy(model).to(load_dtype)  # bf16: as the paper preset used to load Qwen
    r = train_pair(base, exs, TrainConfig(**PAPER_STEP, precision=precision), stop_after=1, progress=False)
    for arm, m in r.models.items():
        assert next(m.parameters()).dtype == torch.float32  # master weights
        assert changed_fraction(base, m) >= 0.99, arm


def test_pure_bf16_fails_the_same_check(micro_setup, monkeypatch):
    """The check can fail: keep the weights (and so AdamW's update) in bf16 and most entries stay put."""
    model, exs, _, _ = micro_setup
    base = copy.deepcopy(model).to(torch.bfloat16)
    monkeypatch.setattr(train_mod, "_master_copy", lambda m, device: copy.deepcopy(m).to(device))
    r = train_pair(base, exs, TrainConfig(**PAPER_STEP, precision="bf16"), stop_after=1, progress=False)
    assert next(r.models["do"].parameters()).dtype == torch.bfloat16
    assert changed_fraction(base, r.models["do"]) < 0.5


def test_bf16_autocast_runs_the_forward_in_bf16_and_keeps_state_in_fp32(micro_setup, monkeypatch):
    model, exs, _, _ = micro_setup
    seen = []
    real = train_mod._lm_loss

    def spy(m, ids, labels):
        seen.append(m(input_ids=ids).logits.dtype)
        return real(m, ids, labels)

    monkeypatch.setattr(train_mod, "_lm_loss", spy)
    arm = train_mod._Arm("do", model, TrainConfig(**PAPER_STEP, precision="bf16"), "cpu", "bf16")
    ex = exs[0]
    arm.step(torch.tensor([ex.input_ids]), torch.tensor([ex.labels_do]), 2e-5)
    assert seen == [torch.bfloat16]
    moments = [t for st in arm.optim.state.values() for t in st.values() if t.dim()]
    assert moments and all(t.dtype == torch.float32 for t in moments)


def test_fp16_is_refused_on_the_cpu(micro_setup):
    from bayes_agent.errors import InvalidArgument

    model, exs, _, _ = micro_setup
    with pytest.raises(InvalidArgument, match="fp16 needs a CUDA"):
        train_pair(model, exs, TrainConfig(precision="fp16"), progress=False)
    with pytest.raises(InvalidArgument, match="precision"):
        TrainConfig(precision="int8")


def test_the_gradient_scaler_branch_unscales_before_clipping(micro_setup):
    """The fp16 path (scale, backward, unscale, clip, step) gives the unscaled step's weights: a
    power-of-two scale is exact in float32, so only a missing unscale or a clip of scaled
    gradients could move them. Run on the CPU with a CPU scaler; on CUDA the scaler is the same."""
    model, exs, _, _ = micro_setup
    cfg = TrainConfig(**PAPER_STEP, precision="fp32")
    plain = train_mod._Arm("do", model, cfg, "cpu", "fp32")
    scaled = train_mod._Arm("do", model, cfg, "cpu", "fp32")
    scaled.scaler = torch.amp.GradScaler("cpu", init_scale=2.0**12)
    for ex in exs[:3]:
        ids, labels = torch.tensor([ex.input_ids]), torch.tensor([ex.labels_do])
        assert plain.step(ids, labels, 2e-5) == scaled.step(ids, labels, 2e-5)
    pa, pb = plain.model.state_dict(), scaled.model.state_dict()
    assert all(torch.equal(pa[k], pb[k]) for k in pa)
    assert changed_fraction(model, scaled.model) >= 0.99
