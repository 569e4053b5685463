"""The chat collator: the transformers/TRL collator contract, and training through Trainer (issue 6)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from bayes_agent.errors import InvalidArgument  # noqa: E402
from neural.chat.messages import mask_chat  # noqa: E402
from neural.chat.collator import ChatCollator  # noqa: E402
from neural.masking import IGNORE_INDEX, LabelMode  # noqa: E402

# these tests feed hand-built rows without a label_mode on purpose (padding, lengths, dtypes);
# the warning they raise is tested where it is the subject (tests/chat/test_bad_input.py)
pytestmark = pytest.mark.filterwarnings("ignore:.*carry no label_mode:UserWarning")

# fixtures tok (chatml) and conversations (the sample file): tests/chat/conftest.py


def _tiny_qwen2(vocab_size: int):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    cfg = Qwen2Config(
        vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
        num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=512,
    )
    return Qwen2ForCausalLM(cfg)


def test_pads_to_the_longest_with_ignore_labels(tok) -> None:
    col = ChatCollator(tok)
    batch = col([
        {"input_ids": [5, 6, 7], "labels": [5, IGNORE_INDEX, 7]},
        {"input_ids": [8, 9], "labels": [8, 9]},
    ])
    assert set(batch) == {"input_ids", "attention_mask", "labels"}
    assert all(v.dtype == torch.long for v in batch.values())
    pad = tok.pad_token_id
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 9, pad]]
    assert batch["labels"].tolist() == [[5, IGNORE_INDEX, 7], [8, 9, IGNORE_INDEX]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
    assert col.supervised_tokens == 4 and col.tokens == 5 and col.examples == 2


def test_left_padding_and_multiples(tok) -> None:
    col = ChatCollator(pad_token_id=0, padding_side="left", pad_to_multiple_of=4)
    with pytest.warns(UserWarning, match="1 of 2 examples in a batch have no supervised label"):
        batch = col([{"input_ids": [5, 6], "labels": [5, 6]}, {"input_ids": [9], "labels": [IGNORE_INDEX]}])
    assert col.unlabelled_examples == 1
    assert batch["input_ids"].tolist() == [[0, 0, 5, 6], [0, 0, 0, 9]]
    assert batch["labels"].tolist() == [[-100, -100, 5, 6], [-100, -100, -100, -100]]
    assert batch["attention_mask"].tolist() == [[0, 0, 1, 1], [0, 0, 0, 1]]


def test_raw_conversations_equal_pretokenized(tok, conversations) -> None:
    for mode in LabelMode:
        col = ChatCollator(tok, mode=mode)
        raw = col([{"messages": c["messages"], "tools": c.get("tools")} for c in conversations])
        pre = col([
            mask_chat(c["messages"], tok, tools=c.get("tools")).features(mode, with_mode=True) for c in conversations
        ])
        for key in raw:
            assert torch.equal(raw[key], pre[key]), (mode, key)


def test_max_length_truncates_and_counts(tok, conversations) -> None:
    a = mask_chat(conversations[0]["messages"], tok).features("interventional", with_mode=True)
    first_label = next(t for t, x in enumerate(a["labels"]) if t and x != IGNORE_INDEX)
    cap = first_label + 3  # every cut example keeps a few supervised tokens
    col = ChatCollator(tok, max_length=cap)
    with pytest.warns(UserWarning) as seen:
        batch = col([a, a])
        col([a, a])  # counted, not warned again
    assert batch["input_ids"].shape == (2, cap)
    full = len(a["input_ids"])
    assert col.truncated_tokens == 4 * (full - cap) and col.truncated_examples == 4
    messages = [str(w.message) for w in seen]
    assert len(messages) == 1 and "cut" in messages[0] and f"max_length={cap}" in messages[0]
    supervised = sum(x != IGNORE_INDEX for x in a["labels"][:cap])
    assert col.report() == (
        f"4 examples, {4 * cap} tokens, {4 * supervised} supervised (interventional); truncated "
        f"{4 * (full - cap)} tokens in 4 examples; 0 examples with no supervised label, kept with zero weight"
    )


def test_a_batch_with_no_supervised_label_is_refused(tok, conversations) -> None:
    """Cut at 16 tokens, every conversation is only frame: the collator refuses the batch, counts nothing."""
    col = ChatCollator(tok, max_length=16)
    raw = [{"messages": c["messages"]} for c in conversations[:2]]
    with pytest.raises(InvalidArgument, match=r"none of the 2 examples in this batch has a supervised label "
                       r"in the interventional mode \(2 cut at max_length=16\); .* 0/0 \(NaN\)"):
        col(raw)
    assert (col.examples, col.tokens, col.truncated_examples, col.unlabelled_examples) == (0, 0, 0, 0)
    # what the guard prevents: the same batch built by hand gives NaN from a bare forward
    ex = [mask_chat(c["messages"], tok, max_length=16) for c in conversations[:2]]
    assert all(x == IGNORE_INDEX for e in ex for x in e.labels("interventional"))
    model = _tiny_qwen2(len(tok)).eval()
    with torch.no_grad():
        loss = model(input_ids=torch.tensor([e.input_ids for e in ex]),
                     labels=torch.tensor([e.labels("interventional") for e in ex])).loss
    assert torch.isnan(loss)


def test_a_label_on_the_first_token_only_is_no_label(tok) -> None:
    """A causal LM never predicts position 0; a batch supervised only there is 0/0 as well."""
    col = ChatCollator(tok)
    first_only = {"input_ids": [5, 6, 7], "labels": [5, IGNORE_INDEX, IGNORE_INDEX]}
    with pytest.raises(InvalidArgument, match="1 with no supervised token after the first"):
        col([first_only])
    with pytest.warns(UserWarning, match="1 of 2 examples in a batch have no supervised label"):
        col([first_only, {"input_ids": [5, 6], "labels": [IGNORE_INDEX, 6]}])
    assert col.unlabelled_examples == 1 and col.examples == 2


@pytest.mark.parametrize(
    "features, pattern",
    [
        ([], "empty batch"),
        ([{"input_ids": [1, 2]}], "feature 0 has input_ids but no labels"),
        ([{"input_ids": [1], "labels": [1]}, {"input_ids": [1, 2], "labels": [1]}], "feature 1: input_ids and labels differ"),
        ([{"text": "hi"}], "feature 0 has neither"),
        (["hi"], "feature 0 must be a mapping"),
        ([{"messages": [{"role": "user", "content": 3}]}], r"feature 0: message 0 \(user\): content must be a string"),
    ],
)
def test_bad_batches_are_named(tok, features, pattern) -> None:
    with pytest.raises(InvalidArgument, match=pattern):
        ChatCollator(tok)(features)


def test_bad_configuration() -> None:
    with pytest.raises(InvalidArgument, match="no pad token id"):
        ChatCollator()
    with pytest.raises(InvalidArgument, match="needs a tokenizer"):
        ChatCollator(pad_token_id=0)([{"messages": [{"role": "user", "content": "hi"}]}])
    with pytest.raises(InvalidArgument, match="padding_side"):
        ChatCollator(pad_token_id=0, padding_side="middle")
    with pytest.raises(InvalidArgument, match="label mode"):
        ChatCollator(pad_token_id=0, mode="everything")


def test_no_gradient_reaches_agent_tokens(tok, conversations) -> None:
    """Through the model's own loss: the logits that predict agent-written tokens get zero gradient."""
    torch.set_num_threads(1)
    model = _tiny_qwen2(len(tok))
    ex = mask_chat(conversations[0]["messages"], tok)
    batch = ChatCollator(tok, mode="interventional")([ex.features("interventional", with_mode=True)])
    out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    logits = out.logits.detach().requires_grad_(True)
    loss = model.loss_function(logits=logits, labels=batch["labels"], vocab_size=len(tok))
    loss.backward()
    per_position = logits.grad[0].abs().sum(-1)  # position t predicts token t + 1
    agent_targets = [t for t, r in enumerate(ex.masked.roles) if "agent" in r]
    world_targets = [t for t, r in enumerate(ex.masked.roles) if r == "world"]
    assert agent_targets and world_targets
    assert all(per_position[t - 1] == 0 for t in agent_targets if t > 0)
    assert all(per_position[t - 1] > 0 for t in world_targets if t > 0)
    # and the loss is the mean NLL over exactly the interventional labels
    logp = torch.log_softmax(out.logits[0, :-1].double(), -1)
    targets = batch["labels"][0, 1:]
    keep = targets != IGNORE_INDEX
    manual = -logp[keep].gather(-1, targets[keep].unsqueeze(-1)).mean()
    assert abs(float(loss.detach()) - float(manual.detach())) < 1e-4
    assert int(keep.sum()) == ex.masked.accounting.supervised_do - (ex.labels("do")[0] != IGNORE_INDEX)


def test_trains_through_transformers_trainer(tok, conversations, tmp_path) -> None:
    pytest.importorskip("accelerate")
    from transformers import Trainer, TrainingArguments

    torch.set_num_threads(1)
    data = [{"messages": c["messages"], "tools": c.get("tools")} for c in conversations]
    data += data[:2]  # six conversations: three steps of two, one epoch, each seen once
    model = _tiny_qwen2(len(tok))
    before = [p.detach().clone() for p in model.parameters()]
    collator = ChatCollator(tok, mode="interventional")
    args = TrainingArguments(
        output_dir=str(tmp_path), per_device_train_batch_size=2, num_train_epochs=1, learning_rate=1e-3,
        report_to=[], use_cpu=True, save_strategy="no", logging_steps=1, remove_unused_columns=False,
        dataloader_num_workers=0, seed=0, disable_tqdm=True,
    )
    trainer = Trainer(model=model, args=args, train_dataset=data, data_collator=collator)
    result = trainer.train()
    assert trainer.state.global_step == 3
    assert torch.isfinite(torch.tensor(result.training_loss))
    assert any(not torch.equal(a, b.detach()) for a, b in zip(before, model.parameters()))
    expected = sum(
        mask_chat(d["messages"], tok, tools=d["tools"]).masked.accounting.supervised_do for d in data
    )
    assert collator.examples == 6
    assert collator.supervised_tokens == expected
    obs = sum(mask_chat(d["messages"], tok, tools=d["tools"]).masked.accounting.supervised_obs for d in data)
    assert collator.supervised_tokens < obs  # the agent's turns really were dropped


def test_trains_through_trl_sft_trainer(tok, conversations, tmp_path) -> None:
    pytest.importorskip("trl")
    datasets = pytest.importorskip("datasets")
    from trl import SFTConfig, SFTTrainer

    torch.set_num_threads(1)
    examples = [mask_chat(c["messages"], tok, tools=c.get("tools")) for c in conversations]
    ds = datasets.Dataset.from_list([e.features("interventional", with_mode=True) for e in examples])
    collator = ChatCollator(tok, mode="interventional")
    args = SFTConfig(
        output_dir=str(tmp_path), per_device_train_batch_size=2, num_train_epochs=1, learning_rate=1e-3,
        report_to=[], use_cpu=True, save_strategy="no", logging_steps=1, dataloader_num_workers=0,
        seed=0, disable_tqdm=True, remove_unused_columns=False,
        dataset_kwargs={"skip_prepare_dataset": True},
        activation_checkpointing=False,  # TRL's default sets the deprecated gradient_checkpointing
    )
    trainer = SFTTrainer(
        model=_tiny_qwen2(len(tok)), args=args, train_dataset=ds, data_collator=collator, processing_class=tok
    )
    trainer.train()
    assert trainer.state.global_step == 2
    assert collator.supervised_tokens == sum(e.masked.accounting.supervised_do for e in examples)


def test_unlabelled_example_has_zero_weight(tok, conversations) -> None:
    """A batch [A, U] (U: no supervised label) has exactly the loss of [A] alone, never NaN."""
    model = _tiny_qwen2(len(tok)).eval()
    col = ChatCollator(tok)
    a = mask_chat(conversations[0]["messages"], tok).features("interventional", with_mode=True)
    u = {"input_ids": a["input_ids"][:12], "labels": [IGNORE_INDEX] * 12}
    with pytest.warns(UserWarning, match="1 of 2 examples"):
        both = col([a, u])
    alone = col([a])
    with torch.no_grad():
        loss_both = model(**both).loss
        loss_alone = model(**alone).loss
    assert torch.isfinite(loss_both)
    assert abs(float(loss_both) - float(loss_alone)) < 1e-5
    assert col.unlabelled_examples == 1


def test_trainer_stops_on_a_batch_with_no_label_before_any_step(tok, tmp_path) -> None:
    """Under Trainer the refused batch stops training before the step (Trainer would log 0 for a NaN)."""
    pytest.importorskip("accelerate")
    from transformers import Trainer, TrainingArguments

    torch.set_num_threads(1)
    u = {"input_ids": [5, 6, 7, 8], "labels": [IGNORE_INDEX] * 4}
    col = ChatCollator(tok)
    args = TrainingArguments(
        output_dir=str(tmp_path), per_device_train_batch_size=2, max_steps=1, report_to=[], use_cpu=True,
        save_strategy="no", logging_steps=1, remove_unused_columns=False, seed=0, disable_tqdm=True,
    )
    model = _tiny_qwen2(len(tok))
    before = [p.detach().clone() for p in model.parameters()]
    trainer = Trainer(model=model, args=args, train_dataset=[u, u], data_collator=col)
    with pytest.raises(InvalidArgument, match="none of the 2 examples in this batch has a supervised label"):
        trainer.train()
    assert trainer.state.global_step == 0 and col.examples == 0
    assert all(torch.equal(a, b.detach()) for a, b in zip(before, model.parameters()))


@pytest.mark.filterwarnings("ignore:ChatCollator.*:UserWarning")  # cuts and unlabelled rows, on purpose
def test_counters_include_batches_built_in_dataloader_worker_processes(tok, conversations) -> None:
    """With DataLoader(num_workers=2) (Trainer's dataloader_num_workers) the counters used to stay 0:
    they lived in the workers' copies of the collator. They now equal one process's counts."""
    from torch.utils.data import DataLoader

    features = [{"messages": c["messages"], **({"tools": c["tools"]} if c.get("tools") else {})}
                for c in conversations] * 2
    one = ChatCollator(tok, max_length=40)
    labels_one = [b["labels"] for b in DataLoader(features, batch_size=2, collate_fn=one)]
    two = ChatCollator(tok, max_length=40)
    labels_two = [b["labels"] for b in DataLoader(features, batch_size=2, collate_fn=two, num_workers=2)]
    assert [x.tolist() for x in labels_two] == [x.tolist() for x in labels_one]
    names = ("examples", "tokens", "supervised_tokens", "truncated_tokens", "truncated_examples",
             "unlabelled_examples", "unmarked_examples")
    assert {n: getattr(two, n) for n in names} == {n: getattr(one, n) for n in names}
    assert two.examples == len(features) and two.truncated_examples > 0 and two.report() == one.report()
    two.examples = 0  # setting a counter sets the total
    assert two.examples == 0 and two.tokens == one.tokens
