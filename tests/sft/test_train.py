"""Paired training on the micro preset: identical init and order, skipped steps, resume, checkpoints."""

import json

import pytest
import torch

torch.set_num_threads(1)  # the test machine is shared; more threads thrash

import neural.sft.train as train_mod
from bayes_agent.errors import BayesAgentError, InvalidArgument
from bayes_agent.transcript import render
from neural.sft.dialogues import make_dialogues
from neural.sft.facts import FACTS
from neural.masking import IGNORE_INDEX, LabelMode, MaskedExample, mask_transcript
from neural.models import build_tiny_model, train_tokenizer
from neural.sft.presets import PRESETS
from neural.sft.train import ARMS, TrainConfig, epoch_order, load_checkpoint, train_pair

MICRO = PRESETS["micro"]


@pytest.fixture(scope="module")
def setup():
    ds = make_dialogues(FACTS[:4], 6, seed=0)
    tok = train_tokenizer([render(d).text for d in ds], MICRO.tiny.vocab_size)
    exs = [mask_transcript(d, tok) for d in ds]
    model = build_tiny_model(MICRO.tiny, len(tok), 0)
    return model, exs


CFG = TrainConfig(epochs=2, lr=3e-3, warmup_steps=2, seed=0)


def _same(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return all(torch.equal(sa[k], sb[k]) for k in sa)


def test_epoch_order_is_seeded_and_a_permutation_per_epoch():
    o = epoch_order(7, 3, seed=5)
    assert o == epoch_order(7, 3, seed=5) != epoch_order(7, 3, seed=6)
    assert all(sorted(o[k * 7:(k + 1) * 7]) == list(range(7)) for k in range(3))


def test_both_arms_see_identical_batches_in_identical_order(setup, monkeypatch):
    model, exs = setup
    calls = []  # (which model object, the input ids it was trained on)
    real = train_mod.lm_loss

    def spy(m, ids, labels):
        calls.append((id(m), ids[0].tolist()))
        return real(m, ids, labels)

    monkeypatch.setattr(train_mod, "lm_loss", spy)
    r = train_pair(model, exs, CFG, progress=False)
    seen = {arm: [ids for mid, ids in calls if mid == id(m)] for arm, m in r.models.items()}
    assert seen["obs"] == seen["do"] == [exs[i].input_ids for i in r.order]
    assert len(r.losses["obs"]) == len(r.losses["do"]) == 2 * len(exs)


def test_arms_start_identical_and_the_input_model_is_untouched(setup):
    model, exs = setup
    before = {k: v.clone() for k, v in model.state_dict().items()}
    r0 = train_pair(model, exs, CFG, stop_after=0, progress=False)
    assert _same(r0.models["obs"], r0.models["do"]) and _same(r0.models["obs"], model)
    r = train_pair(model, exs, CFG, progress=False)
    assert not _same(r.models["obs"], r.models["do"])  # only the labels differ, and they matter
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(x is not None and x == x for arm in r.losses for x in r.losses[arm])


def test_a_step_without_supervised_tokens_is_skipped(setup):
    model, exs = setup
    e = exs[0]
    blank = MaskedExample(e.input_ids, {m: list(v) if m is not LabelMode.INTERVENTIONAL else [IGNORE_INDEX] * len(v)
                                        for m, v in e.labels.items()}, e.origins, e.offsets, e.text)
    r = train_pair(model, [blank], TrainConfig(epochs=1, lr=1e-2), progress=False)
    assert r.losses["do"] == [None] and r.losses["obs"][0] > 0
    assert _same(r.models["do"], model) and not _same(r.models["obs"], model)


def test_resume_gives_the_same_final_weights(setup, tmp_path):
    model, exs = setup
    full = train_pair(model, exs, CFG, progress=False)
    part = train_pair(model, exs, CFG, checkpoint_dir=tmp_path, stop_after=5, progress=False)
    assert part.steps_done == 5
    resumed = train_pair(model, exs, CFG, resume=tmp_path, progress=False)
    for arm in ("obs", "do"):
        assert _same(full.models[arm], resumed.models[arm])
        assert resumed.losses[arm] == full.losses[arm]
    assert (tmp_path / "obs.safetensors").exists() and (tmp_path / "state.json").exists()


def test_resume_with_other_data_is_refused(setup, tmp_path):
    model, exs = setup
    train_pair(model, exs, CFG, checkpoint_dir=tmp_path, stop_after=2, progress=False)
    with pytest.raises(BayesAgentError, match="different data"):
        train_pair(model, exs[:-1], CFG, resume=tmp_path, progress=False)


def test_corrupted_or_missing_checkpoint(setup, tmp_path):
    model, exs = setup
    with pytest.raises(BayesAgentError, match="no checkpoint"):
        load_checkpoint(tmp_path / "absent", {"obs": model})
    train_pair(model, exs, CFG, checkpoint_dir=tmp_path, stop_after=2, progress=False)
    (tmp_path / "do.safetensors").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(BayesAgentError, match="corrupted"):
        train_pair(model, exs, CFG, resume=tmp_path, progress=False)
    (tmp_path / "state.json").write_text("{not json")
    with pytest.raises(BayesAgentError, match="corrupted"):
        load_checkpoint(tmp_path, {"obs": model})


def test_a_cut_optimiser_json_is_named_not_its_safetensors(setup, tmp_path):
    model, exs = setup
    train_pair(model, exs, CFG, checkpoint_dir=tmp_path, stop_after=2, progress=False)
    text = (tmp_path / "obs.optim.json").read_text()
    (tmp_path / "obs.optim.json").write_text(text[: len(text) // 2])
    with pytest.raises(BayesAgentError, match=r"optimiser state \S*obs\.optim\.json is corrupted"):
        train_pair(model, exs, CFG, resume=tmp_path, progress=False)


def test_decomposition_of_the_summed_losses(setup):
    """Invariant 3, neural: NLL_obs = NLL_do + NLL over agent-content tokens (sum reduction)."""
    model, exs = setup
    e = exs[0]
    ids = torch.tensor([e.input_ids])
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=ids).logits[0, :-1].float(), -1)
    tok_nll = -logp.gather(1, ids[0, 1:, None])[:, 0]

    def total(labels):
        lab = torch.tensor(labels[1:])
        return float(tok_nll[lab != IGNORE_INDEX].sum())

    agent = [e.input_ids[t] if (r == "agent" or "agent" in r and r.startswith("mixed")) else IGNORE_INDEX
             for t, r in enumerate(e.roles)]
    assert total(e.labels_obs) == pytest.approx(total(e.labels_do) + total(agent), rel=1e-5)


@pytest.mark.parametrize("kwargs", [dict(epochs=0), dict(lr=0.0), dict(lr=float("nan")), dict(clip=0.0)])
def test_train_config_rejects_bad_values(kwargs):
    with pytest.raises(InvalidArgument):
        TrainConfig(**kwargs)


def test_empty_data_set_is_refused(setup):
    with pytest.raises(InvalidArgument, match="empty"):
        train_pair(setup[0], [], CFG, progress=False)


def test_three_arms_share_init_and_order_and_differ_only_in_labels(setup, monkeypatch):
    model, exs = setup
    calls = []
    real = train_mod.lm_loss

    def spy(m, ids, labels):
        calls.append((id(m), ids[0].tolist(), labels[0].tolist()))
        return real(m, ids, labels)

    monkeypatch.setattr(train_mod, "lm_loss", spy)
    r0 = train_pair(model, exs, CFG, arms=("obs", "do", "ao"), stop_after=0, progress=False)
    assert r0.arms == ("obs", "do", "ao") and _same(r0.models["ao"], model) and _same(r0.models["do"], model)
    r = train_pair(model, exs, CFG, arms=("obs", "do", "ao"), progress=False)
    seen = {arm: [c for c in calls if c[0] == id(m)] for arm, m in r.models.items()}
    for arm, mode in ARMS.items():
        assert [c[1] for c in seen[arm]] == [exs[i].input_ids for i in r.order]
        assert [c[2] for c in seen[arm]] == [exs[i].labels[mode] for i in r.order]
    # within each step the arms run in the order asked for
    assert [c[0] for c in calls[:3]] == [id(r.models[a]) for a in ("obs", "do", "ao")]
    assert not _same(r.models["ao"], r.models["obs"]) and not _same(r.models["ao"], r.models["do"])
    # the pair inside a triple is the same pair as trained alone (arms do not interact)
    pair = train_pair(model, exs, CFG, progress=False)
    assert pair.arms == ("obs", "do")
    assert _same(pair.models["obs"], r.models["obs"]) and _same(pair.models["do"], r.models["do"])


def test_assistant_only_labels_supervise_agent_content_only(setup):
    _, exs = setup
    e = exs[0]
    ao = e.labels[ARMS["ao"]]
    sup = [r for t, r in enumerate(e.roles) if ao[t] != IGNORE_INDEX]
    assert sup and set(sup) == {"agent"}
    assert all(ao[t] == IGNORE_INDEX or e.labels_obs[t] == ao[t] for t in range(len(ao)))
    assert all(not (ao[t] != IGNORE_INDEX and e.labels_do[t] != IGNORE_INDEX) for t in range(len(ao)))


def test_a_single_arm_trains_alone(setup):
    model, exs = setup
    r = train_pair(model, exs, CFG, arms=("ao",), progress=False)
    assert r.arms == ("ao",) and not _same(r.models["ao"], model)
    assert r.step_cost_ratio() != r.step_cost_ratio()  # NaN: the obs/do ratio needs both arms


@pytest.mark.parametrize("arms, match", [((), "no arms"), (("obs", "xx"), "unknown arm"),
                                         (("do", "do"), "repeated"), ("obs", "string")])
def test_bad_arms_are_refused(setup, arms, match):
    with pytest.raises(InvalidArgument, match=match):
        train_pair(setup[0], setup[1], CFG, arms=arms, progress=False)


def test_resume_with_other_arms_is_refused(setup, tmp_path):
    model, exs = setup
    train_pair(model, exs, CFG, checkpoint_dir=tmp_path, stop_after=2, progress=False)
    with pytest.raises(BayesAgentError, match="written for arms"):
        train_pair(model, exs, CFG, arms=("obs", "do", "ao"), resume=tmp_path, progress=False)


def test_device_auto_is_resolved_and_an_unknown_device_refused(setup):
    model, exs = setup
    r = train_pair(model, exs, CFG, device="auto", stop_after=1, progress=False)
    expected = "cuda" if torch.cuda.is_available() else None
    assert next(r.models["do"].parameters()).device.type in ({expected} if expected else {"cpu", "mps"})
    with pytest.raises(InvalidArgument, match="unknown device"):
        train_pair(model, exs, CFG, device="tpu", progress=False)


@pytest.mark.parametrize("sequential", [False, True])
def test_each_checkpoint_is_written_once(setup, tmp_path, monkeypatch, sequential):
    """The periodic save at the last step is the final save: the end is not written twice (the
    main job's checkpoint of three arms costs a save each time)."""
    model, exs = setup
    saved = []
    real = train_mod.save_checkpoint

    def spy(directory, models, optims, step, *args, **kwargs):
        saved.append((tuple(models), step))
        return real(directory, models, optims, step, *args, **kwargs)

    monkeypatch.setattr(train_mod, "save_checkpoint", spy)
    cfg = TrainConfig(epochs=2, lr=3e-3, warmup_steps=2, seed=0, checkpoint_every=len(exs))  # total: 2 saves' worth
    train_pair(model, exs, cfg, checkpoint_dir=tmp_path, progress=False, sequential=sequential)
    n = 2 * len(exs)
    if sequential:  # per arm, after each epoch; ``step`` is the slowest arm's
        assert saved == [(("obs",), 0), (("obs",), 0), (("do",), len(exs)), (("do",), n)]
    else:
        assert saved == [(("obs", "do"), len(exs)), (("obs", "do"), n)]
    assert json.loads((tmp_path / "state.json").read_text())["step"] == n


@pytest.mark.parametrize("field,value", [("clip", 0.0), ("weight_decay", -0.1), ("warmup_steps", -1),
                                         ("checkpoint_every", -1)])
def test_train_config_names_the_bad_field_and_its_value(field, value):
    with pytest.raises(InvalidArgument, match=f"^{field} must be .*, got {value}$"):
        TrainConfig(**{field: value})
