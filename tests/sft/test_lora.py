"""LoRA (``--lora R``, peft) in every arm: the same masks, so agent tokens still give no gradient."""

import pytest
import torch

import neural.sft.train as train_mod
from bayes_agent.transcript import Gate
from neural.regimes.assertions import assert_agent_tokens_inert
from neural.sft.train import TrainConfig, train_pair

from .conftest import same_weights

LORA = TrainConfig(epochs=1, lr=1e-2, seed=0, lora_rank=4)


def _lora_arm(model, name="do"):
    return train_mod.TrainingArm(name, model, LORA, "cpu", "fp32")


def test_lora_trains_every_arm_and_only_the_adapted_layers(micro_setup):
    model, exs, _, _ = micro_setup
    r = train_pair(model, exs, LORA, arms=("obs", "do", "ao"), progress=False)
    base = model.state_dict()
    for arm, m in r.models.items():
        sd = m.state_dict()
        assert sd.keys() == base.keys()  # adapters merged back into a plain model
        moved = {k for k in sd if not torch.equal(sd[k], base[k])}
        assert any("q_proj.weight" in k for k in moved) and any("down_proj.weight" in k for k in moved), arm
        assert not any("embed_tokens" in k or "norm" in k for k in moved), arm  # frozen under LoRA
    assert not same_weights(r.models["obs"], r.models["do"]) and not same_weights(r.models["do"], r.models["ao"])


def test_every_arm_starts_from_the_same_adapters(micro_setup):
    model, _, _, _ = micro_setup
    torch.manual_seed(123)
    a = _lora_arm(model, "obs").model.state_dict()
    b = _lora_arm(model, "do").model.state_dict()  # created right after, as train_pair does
    lora = [k for k in a if "lora_" in k]
    assert lora and all(torch.equal(a[k], b[k]) for k in a)
    trainable = [n for n, p in _lora_arm(model).model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)


def test_masked_agent_tokens_give_exactly_zero_gradient_under_lora(micro_setup):
    model, exs, tok, dialogues = micro_setup
    peft_model = _lora_arm(model).model
    ex = exs[0]
    ids = torch.tensor([ex.input_ids])
    logits = peft_model(input_ids=ids).logits
    logits.retain_grad()
    labels = torch.tensor(ex.labels_do)
    loss = torch.nn.functional.cross_entropy(logits[0, :-1], labels[1:], ignore_index=-100, reduction="sum")
    loss.backward()
    g = logits.grad[0, :-1].abs().sum(-1)  # gradient reaching position t's prediction of token t + 1
    agent_targets = torch.tensor([r == "agent" for r in ex.roles[1:]])
    assert agent_targets.any() and bool((g[agent_targets] == 0).all())  # exactly zero, not small
    assert bool((g[labels[1:] != -100] > 0).all())
    lora_grads = [p.grad for n, p in peft_model.named_parameters() if "lora_B" in n]
    assert lora_grads and all(x is not None and x.abs().sum() > 0 for x in lora_grads)
    # invariant 1 on the LoRA model: appending agent content moves neither the loss nor the gradient
    ending_with_agent = [d for d in dialogues if d.slots[-1].gate is Gate.AGENT]
    assert ending_with_agent
    assert_agent_tokens_inert(peft_model, tok, ending_with_agent[:2])


@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_bad_lora_rank_is_refused(bad):
    from bayes_agent.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="lora_rank"):
        TrainConfig(lora_rank=bad)
