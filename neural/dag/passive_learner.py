"""A small transformer agent that learns the causal-DAG task by behaviour cloning only.

It never acts while training: it reads the expert's recorded episodes and learns to predict the
expert's action at every trial. Only at evaluation does it act, actively, in fresh episodes -
including episodes whose dependency (D → E) never occurs in its training data.

The talk's kind of agent: one token per (trial, node) holding raw values only (``N_FEATURES``
numbers, see ``episode_features``; no engineered statistic such as a change), plus a learned
trial embedding and a learned *identity* vector per node, node k always wearing identity k.
Attention is block-causal (a token sees every node of its own and earlier trials); a two-logit
head on each node token gives that node's ``do(+v)`` and ``do(-v)`` logits.

**Inductive bias (the default, ``attention="relation"``, ``identity_init="zero"``).** Each head
adds a learned bias and a learned value vector for each of five structural relations between a
query token (trial t, node k) and a key token (trial s, node j), read off the raw is-goal and
action-mark inputs (:func:`relation_bits`): same node; j is the goal named in the query's trial;
k is the node whose intervention the key's trial shows; j is that node; same trial. Like a
relative position encoding, this says *how two tokens are related*, not what any baseline would
compute from them. The identity vectors start at zero, so at initialisation the model treats the
nodes symmetrically (relabelling the nodes relabels the actions) and a per-node rule such as
"never C for goal A" (true of every training episode) must be learned against that symmetry.
Trained long enough it still is (the *creep-back*: past about 1,000 steps C is un-learned on
validation); ``train_identities=False`` keeps the identities at zero, so the learner stays exactly
symmetric and cannot store such a rule, and ``identity_decay`` pulls them back towards zero
(docs/causal_strategies.md measures both on validation).
``attention="standard"`` and ``identity_init="random"`` give the first learner of this study
(ordinary attention, random identities), kept for the ablation. The named variant
``shuffle_identities=True`` hands the identities out in a fresh random order per episode; then
every held-out (graph, goal) pair is a relabelling of a training pair, so its target split is
in-distribution by construction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from bayes_agent.dag.world import (
    N_NODES,
    EpisodeBatch,
    action_node,
    action_sign,
)
from bayes_agent.errors import InvalidArgument
from bayes_agent.seeds import check_seed

__all__ = [
    "BCConfig",
    "BCPolicy",
    "FEATURE_NAMES",
    "N_FEATURES",
    "ATTENTIONS",
    "IDENTITY_INITS",
    "PassiveLearner",
    "RELATION_NAMES",
    "episode_features",
    "explanation_targets",
    "identity_orders",
    "relation_bits",
    "train_passive_learner",
]

#: what each of a (trial, node) token's numbers is
FEATURE_NAMES: tuple[str, ...] = (
    "initial value",              # this trial's untouched sample of the node
    "previous outcome",           # the node after the previous trial's intervention (0 at trial 0)
    "is goal",                    # 1 on the goal node of an exploitation trial
    "previously intervened",      # +1 / -1 on the node the previous trial set to +v / -v
    "exploiting",                 # 1 on every node of an exploitation trial
)
N_FEATURES = len(FEATURE_NAMES)
GOAL_FEATURE, MARK_FEATURE = 2, 3
#: the cued world's tokens carry one more raw number: the episode's multi-hot cue
CUE_FEATURE_NAME = "cued"  # 1 on every token of a variable the episode's cue names
#: the structural relations between a query token (trial t, node k) and a key token (trial s, node j)
RELATION_NAMES: tuple[str, ...] = (
    "same node",                    # k == j
    "key node is the query's goal",  # j is the goal named in trial t
    "query node was set",           # k is the node whose intervention trial s's tokens show
    "key node was set",             # j is that node
    "same trial",                   # s == t
)
#: how tokens attend: with the relation terms, or plain scaled dot-product attention
ATTENTIONS: tuple[str, ...] = ("relation", "standard")
#: how the per-node identity vectors start
IDENTITY_INITS: tuple[str, ...] = ("zero", "random")


@dataclass(frozen=True)
class BCConfig:
    """Model size and training schedule."""

    d_model: int = 64
    n_layers: int = 2
    n_heads: int = 4
    steps: int = 3000
    batch_size: int = 128
    lr: float = 1e-3
    warmup: int = 0  # steps of linear warm-up
    decay: bool = False  # cosine decay to a tenth of lr after the warm-up
    exploit_weight: float = 1.0  # loss weight of exploitation trials (experimentation trials: 1)
    shuffle_identities: bool = False  # True: a fresh identity order per episode (the named variant)
    explain_weight: float = 0.0  # weight of the auxiliary explanation loss (0: no explanations)
    attention: str = "relation"  # "relation": learned bias and value per relation; "standard"
    identity_init: str = "zero"  # "zero": identities start equal (at zero); "random": N(0, 1)
    identity_decay: float = 0.01  # AdamW's decoupled weight decay on the identity vectors alone
    train_identities: bool = True  # False: the identities keep their start (the "frozen" fix)

    def __post_init__(self) -> None:
        for name in ("d_model", "n_layers", "n_heads", "steps", "batch_size"):
            v = getattr(self, name)
            if not (isinstance(v, int) and v >= 1):
                raise InvalidArgument(f"{name} must be a positive int, got {v!r}")
        if self.d_model % self.n_heads:
            raise InvalidArgument(f"d_model {self.d_model} is not divisible by n_heads {self.n_heads}")
        if not (isinstance(self.warmup, int) and 0 <= self.warmup < self.steps):
            raise InvalidArgument(f"warmup must be an int in 0..steps-1, got {self.warmup!r}")
        if not (isinstance(self.exploit_weight, (int, float)) and self.exploit_weight > 0):
            raise InvalidArgument(f"exploit_weight must be a positive number, got {self.exploit_weight!r}")
        if isinstance(self.explain_weight, bool) or not (
                isinstance(self.explain_weight, (int, float)) and self.explain_weight >= 0):
            raise InvalidArgument(f"explain_weight must be a number >= 0, got {self.explain_weight!r}")
        if self.attention not in ATTENTIONS:
            raise InvalidArgument(f"attention must be one of {ATTENTIONS}, got {self.attention!r}")
        if self.identity_init not in IDENTITY_INITS:
            raise InvalidArgument(f"identity_init must be one of {IDENTITY_INITS}, got {self.identity_init!r}")
        if not (self.lr > 0):
            raise InvalidArgument(f"lr must be positive, got {self.lr!r}")
        if isinstance(self.identity_decay, bool) or not (
                isinstance(self.identity_decay, (int, float)) and 0 <= self.identity_decay < math.inf):
            raise InvalidArgument(f"identity_decay must be a finite number >= 0, got {self.identity_decay!r}")
        if not isinstance(self.train_identities, bool):
            raise InvalidArgument(f"train_identities must be True or False, got {self.train_identities!r}")


def episode_features(batch: EpisodeBatch, upto: int) -> np.ndarray:
    """Tokens for trials ``0..upto-1`` of every episode, shape ``(N, upto, V, N_FEATURES)`` with
    ``V`` the batch's variables (5 in the five-node world); a cued batch's tokens carry one more
    number, the raw multi-hot cue (:data:`CUE_FEATURE_NAME`), last.

    A trial's token holds only what the agent has seen before choosing that trial's action."""
    if not (isinstance(upto, int) and 1 <= upto <= batch.config.n_trials):
        raise InvalidArgument(f"upto must be an int in 1..{batch.config.n_trials}, got {upto!r}")
    n, width = len(batch), batch.initial.shape[2]
    cued = batch.cues is not None
    feats = np.zeros((n, upto, width, N_FEATURES + cued), dtype=np.float32)
    feats[..., 0] = batch.initial[:, :upto]
    feats[:, 1:, :, 1] = batch.outcomes[:, :upto - 1]
    goals = batch.goals[:, :upto]
    rows, cols = np.nonzero(goals >= 0)
    feats[rows, cols, goals[rows, cols], 2] = 1.0
    prev = batch.actions[:, :upto - 1]
    rows, cols = np.nonzero(prev >= 0)
    played = prev[rows, cols]
    feats[rows, cols + 1, action_node(played), 3] = action_sign(played)
    feats[..., 4] = (goals >= 0)[:, :, None]
    if cued:
        feats[..., N_FEATURES] = batch.cues[:, None, :]
    return feats


def identity_orders(n: int, generator: torch.Generator, shuffle: bool = True,
                    n_nodes: int = N_NODES) -> torch.Tensor:
    """Which identity vector each node wears in each of ``n`` episodes, ``(n, n_nodes)``: a random
    order per episode, or with ``shuffle=False`` the fixed order (node k wears identity k) that
    lets the model learn rules about named nodes."""
    if not shuffle:
        return torch.arange(n_nodes).expand(n, n_nodes)
    return torch.argsort(torch.rand(n, n_nodes, generator=generator), dim=1)


def relation_bits(feats: torch.Tensor) -> torch.Tensor:
    """The :data:`RELATION_NAMES` bits between every query and key token, ``(N, L, L, 5)`` with
    ``L = T * 5`` tokens in (trial, node) order, computed from the raw is-goal and action-mark
    inputs of ``feats`` ``(N, T, V, F)`` only (``L = T * V`` in the cued world)."""
    n, t, width = feats.shape[:3]
    trial = torch.arange(t).repeat_interleave(width)  # token -> its trial
    node = torch.arange(width).repeat(t)  # token -> its node
    goal = feats[..., GOAL_FEATURE] > 0  # (N, T, 5): node is the goal named in that trial
    mark = feats[..., MARK_FEATURE] != 0  # (N, T, 5): node is the one that trial's tokens show set
    q_trial, q_node = trial[:, None], node[:, None]
    k_trial, k_node = trial[None, :], node[None, :]
    same_node = (q_node == k_node).expand(n, -1, -1)
    key_is_goal = goal[:, q_trial, k_node]
    query_set = mark[:, k_trial, q_node]
    key_set = mark[:, k_trial, k_node].expand(n, t * width, -1)
    same_trial = (q_trial == k_trial).expand(n, -1, -1)
    return torch.stack([same_node, key_is_goal, query_set, key_set, same_trial], dim=-1).float()


class RelationAttention(nn.Module):
    """Multi-head attention whose scores get a learned per-head bias for each relation bit and
    whose output gets a learned per-head value vector for each (the bits weighted by attention).
    With ``relations=False`` it is ordinary scaled dot-product attention."""

    def __init__(self, d_model: int, n_heads: int, relations: bool) -> None:
        super().__init__()
        self.n_heads, self.d_head = n_heads, d_model // n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.relations = relations
        if relations:
            self.rel_bias = nn.Parameter(torch.zeros(len(RELATION_NAMES), n_heads))
            self.rel_value = nn.Parameter(torch.zeros(len(RELATION_NAMES), n_heads, self.d_head))

    def forward(self, x: torch.Tensor, blocked: torch.Tensor, bits: torch.Tensor | None) -> torch.Tensor:
        n, length, d = x.shape
        q, k, v = self.qkv(x).reshape(n, length, 3, self.n_heads, self.d_head).permute(2, 0, 3, 1, 4)
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.d_head)  # (N, H, L, L)
        if self.relations:
            scores = scores + (bits @ self.rel_bias).permute(0, 3, 1, 2)
        weights = torch.softmax(scores.masked_fill(blocked, float("-inf")), dim=-1)
        mixed = weights @ v  # (N, H, L, d_head)
        if self.relations:
            per_relation = weights.transpose(1, 2) @ bits  # (N, L, H, 5): attention on each relation
            mixed = mixed + torch.einsum("nqhr,rhd->nhqd", per_relation, self.rel_value)
        return self.out(mixed.transpose(1, 2).reshape(n, length, d))


class _Block(nn.Module):
    """Pre-norm transformer block: attention, then a ReLU feed-forward layer, each residual."""

    def __init__(self, config: "BCConfig") -> None:
        super().__init__()
        d = config.d_model
        self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = RelationAttention(d, config.n_heads, config.attention == "relation")
        self.ff = nn.Sequential(nn.Linear(d, 4 * d), nn.ReLU(), nn.Linear(4 * d, d))

    def forward(self, x: torch.Tensor, blocked: torch.Tensor, bits: torch.Tensor | None) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), blocked, bits)
        return x + self.ff(self.norm2(x))


class PassiveLearner(nn.Module):
    """Node-token projection, trial and identity embeddings, a block-causal transformer (relation
    attention by default), and a two-logit action head per node token."""

    def __init__(self, n_trials: int, config: BCConfig, n_nodes: int = N_NODES,
                 n_features: int = N_FEATURES) -> None:
        super().__init__()
        self.config = config
        self.inp = nn.Linear(n_features, config.d_model)
        self.pos = nn.Parameter(torch.zeros(n_trials, config.d_model))
        init = torch.zeros if config.identity_init == "zero" else torch.randn
        self.identity = nn.Parameter(init(n_nodes, config.d_model))
        self.blocks = nn.ModuleList(_Block(config) for _ in range(config.n_layers))
        self.norm = nn.LayerNorm(config.d_model)
        self.head = nn.Linear(config.d_model, 2)
        self.explain = nn.Linear(config.d_model, 1)  # trained only when explain_weight > 0

    @property
    def n_nodes(self) -> int:
        return self.identity.shape[0]

    @staticmethod
    def attention_mask(n_trials: int, n_nodes: int = N_NODES) -> torch.Tensor:
        """True where attention is blocked: token (t, k) sees (s, j) only when s <= t."""
        trial = torch.arange(n_trials).repeat_interleave(n_nodes)
        return trial[None, :] > trial[:, None]

    def forward(self, feats: torch.Tensor, orders: torch.Tensor, explain: bool = False
                ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """``feats`` ``(N, T, 5, N_FEATURES)`` and ``orders`` ``(N, 5)`` (which identity vector
        each node wears) to action logits ``(N, T, 10)``, action ``2k`` / ``2k+1`` = node k ±v;
        with ``explain`` also the explanation logits ``(N, T, 5)`` (see :func:`explanation_targets`)."""
        n, t, width = feats.shape[:3]
        h = self.inp(feats) + self.pos[:t, None, :] + self.identity[orders][:, None, :, :]
        h = h.reshape(n, t * width, -1)
        blocked = self.attention_mask(t, width)
        bits = relation_bits(feats) if self.config.attention == "relation" else None
        for block in self.blocks:
            h = block(h, blocked, bits)
        h = self.norm(h)
        logits = self.head(h).reshape(n, t, 2 * width)  # node k -> actions 2k (+v), 2k+1 (-v)
        return (logits, self.explain(h).reshape(n, t, width)) if explain else logits


def explanation_targets(batch: EpisodeBatch, ancestors: np.ndarray) -> np.ndarray:
    """The explanation of each outcome, per (trial, node) token, ``(N, T, 5)``: 1 where node j
    changed *because of* the previous trial's intervention (j is a descendant of the node it
    set), 0 elsewhere, NaN where there is nothing to explain (trial 0; the intervened node).
    ``ancestors[n]`` is episode n's graph's ancestor matrix."""
    n, t = batch.actions.shape
    out = np.full((n, t, N_NODES), np.nan, dtype=np.float32)
    prev = action_node(batch.actions[:, :t - 1])  # (N, T-1)
    out[:, 1:] = np.take_along_axis(ancestors, prev[:, :, None], axis=1).astype(np.float32)
    rows, cols = np.indices(prev.shape)
    out[rows, cols + 1, prev] = np.nan
    return out


def train_passive_learner(
    expert: EpisodeBatch, config: BCConfig, seed: int = 0, log_every: int = 0,
    on_checkpoint: Callable[[int, "PassiveLearner"], None] | None = None, checkpoint_every: int = 0,
    explanations: np.ndarray | None = None,
) -> tuple[PassiveLearner, list[float]]:
    """Behaviour cloning: cross-entropy of the expert's action at every trial (plus, when
    ``config.explain_weight > 0``, the binary cross-entropy of ``explanations`` from
    :func:`explanation_targets`). Returns the model and the training loss per step.
    Deterministic on CPU for a given seed.

    ``on_checkpoint(step, model)`` is called every ``checkpoint_every`` steps (and at the end),
    e.g. to evaluate the agent actively while it is still being trained passively."""
    torch.manual_seed(check_seed(seed))
    gen = torch.Generator().manual_seed(seed)
    n_trials = expert.config.n_trials
    feats = torch.from_numpy(episode_features(expert, n_trials))
    targets = torch.from_numpy(expert.actions.astype(np.int64))
    if (targets < 0).any():
        raise InvalidArgument("the expert batch has unplayed trials; pass complete episodes")
    if config.explain_weight > 0:
        if explanations is None or explanations.shape != (len(expert), n_trials, N_NODES):
            raise InvalidArgument("explain_weight > 0 needs explanation targets of shape "
                                  f"{(len(expert), n_trials, N_NODES)}")
        expl = torch.from_numpy(np.nan_to_num(explanations, nan=0.0))
        expl_mask = torch.from_numpy(~np.isnan(explanations)).float()
    model = PassiveLearner(n_trials, config, feats.shape[2], feats.shape[3])
    opt = _optimiser(model, config)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: _lr_factor(step, config))
    losses = []
    size = min(config.batch_size, len(feats))
    weights = torch.ones(size, n_trials)
    weights[:, expert.config.n_explore:] = config.exploit_weight
    weights = weights.reshape(-1)
    for step in range(config.steps):
        idx = torch.randint(len(feats), (size,), generator=gen)
        orders = identity_orders(size, gen, config.shuffle_identities, model.n_nodes)
        if config.explain_weight > 0:
            logits, why = model(feats[idx], orders, explain=True)
        else:
            logits = model(feats[idx], orders)
        per_token = nn.functional.cross_entropy(logits.reshape(-1, 2 * model.n_nodes),
                                                targets[idx].reshape(-1), reduction="none")
        loss = (per_token * weights).sum() / weights.sum()
        if config.explain_weight > 0:
            bce = nn.functional.binary_cross_entropy_with_logits(why, expl[idx], reduction="none")
            loss = loss + config.explain_weight * (bce * expl_mask[idx]).sum() / expl_mask[idx].sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        if log_every and (step + 1) % log_every == 0:
            print(f"  step {step + 1}/{config.steps}  loss {np.mean(losses[-log_every:]):.4f}", flush=True)
        if on_checkpoint and checkpoint_every and (
                (step + 1) % checkpoint_every == 0 or step + 1 == config.steps):
            model.eval()
            on_checkpoint(step + 1, model)
            model.train()
    return model, losses


def _optimiser(model: PassiveLearner, config: BCConfig) -> torch.optim.AdamW:
    """AdamW (weight decay 0.01) with the identity vectors in their own group: decayed by
    ``config.identity_decay``, or left out (never trained) when ``config.train_identities`` is
    False. The two fixes for the identity prior creeping back (docs/causal_strategies.md)."""
    model.identity.requires_grad_(config.train_identities)
    rest = [p for name, p in model.named_parameters() if name != "identity"]
    groups = [{"params": rest, "weight_decay": 0.01}]
    if config.train_identities:
        groups.append({"params": [model.identity], "weight_decay": config.identity_decay})
    return torch.optim.AdamW(groups, lr=config.lr)


def _lr_factor(step: int, config: BCConfig) -> float:
    if step < config.warmup:
        return (step + 1) / config.warmup
    if not config.decay:
        return 1.0
    done = (step - config.warmup) / max(1, config.steps - config.warmup)
    return 0.1 + 0.45 * (1 + math.cos(math.pi * done))


class BCPolicy:
    """The trained learner acting greedily; in exploitation the goal's own node is masked out.

    Episode ``i`` of a batch wears row ``i`` of the same seeded draw on every call, so an episode
    keeps its order on every trial and a run is reproducible."""

    def __init__(self, model: PassiveLearner, seed: int = 0) -> None:
        self.model = model.eval()
        self.seed = check_seed(seed)

    def orders(self, n: int) -> torch.Tensor:
        """Identity orders for the first ``n`` episodes of a batch (a prefix of one seeded draw,
        so the same episode gets the same order on every trial)."""
        return identity_orders(n, torch.Generator().manual_seed(self.seed),
                               self.model.config.shuffle_identities, self.model.n_nodes)

    @torch.no_grad()
    def act(self, batch: EpisodeBatch, t: int) -> np.ndarray:
        feats = torch.from_numpy(episode_features(batch, t + 1))
        logits = self.model(feats, self.orders(len(batch)))[:, t].numpy()
        mask = np.ones(logits.shape, dtype=bool)  # every action but the goal's own node's
        rows = np.flatnonzero(batch.goals[:, t] >= 0)
        mask[rows, 2 * batch.goals[rows, t]] = mask[rows, 2 * batch.goals[rows, t] + 1] = False
        return np.argmax(np.where(mask, logits, -np.inf), axis=1).astype(int)
