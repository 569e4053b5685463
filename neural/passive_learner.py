"""A small transformer agent that learns the causal-DAG task by behaviour cloning only.

It never acts while training: it reads the expert's recorded episodes (the exact Bayesian
experimenter's) and learns to predict the expert's action at every trial. Only at evaluation does
it act, actively, in fresh episodes - including episodes whose dependency (D → E) never occurs in
its training data.

One token per trial, causal attention over the episode:
``[initial values (5) | goal one-hot (5) | exploiting (1) | previous action one-hot (10) |
previous outcome (5) | previous outcome - previous initial values (5)]``; the output at token t gives the logits of the action at trial t.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from bayes_agent.causal_dag import ACTIONS, N_NODES, EpisodeBatch, allowed_actions
from bayes_agent.errors import InvalidArgument

__all__ = ["BCConfig", "BCPolicy", "PassiveLearner", "episode_features", "train_passive_learner"]

N_FEATURES = 2 * N_NODES + 1 + len(ACTIONS) + 2 * N_NODES


@dataclass(frozen=True)
class BCConfig:
    """Model size and training schedule."""

    d_model: int = 64
    n_layers: int = 2
    n_heads: int = 4
    steps: int = 3000
    batch_size: int = 128
    lr: float = 1e-3

    def __post_init__(self) -> None:
        for name in ("d_model", "n_layers", "n_heads", "steps", "batch_size"):
            v = getattr(self, name)
            if not (isinstance(v, int) and v >= 1):
                raise InvalidArgument(f"{name} must be a positive int, got {v!r}")
        if self.d_model % self.n_heads:
            raise InvalidArgument(f"d_model {self.d_model} is not divisible by n_heads {self.n_heads}")
        if not (self.lr > 0):
            raise InvalidArgument(f"lr must be positive, got {self.lr!r}")


def episode_features(batch: EpisodeBatch, upto: int) -> np.ndarray:
    """Tokens for trials ``0..upto-1`` of every episode, shape ``(N, upto, N_FEATURES)``."""
    n = len(batch)
    feats = np.zeros((n, upto, N_FEATURES), dtype=np.float32)
    feats[:, :, :N_NODES] = batch.initial[:, :upto]
    goals = batch.goals[:, :upto]
    has_goal = goals >= 0
    rows, cols = np.nonzero(has_goal)
    feats[rows, cols, N_NODES + goals[rows, cols]] = 1.0
    feats[:, :, 2 * N_NODES] = has_goal
    base = 2 * N_NODES + 1
    for t in range(1, upto):
        a = batch.actions[:, t - 1]
        feats[np.arange(n), t, base + a] = 1.0
        feats[:, t, base + len(ACTIONS):base + len(ACTIONS) + N_NODES] = batch.outcomes[:, t - 1]
        feats[:, t, base + len(ACTIONS) + N_NODES:] = batch.outcomes[:, t - 1] - batch.initial[:, t - 1]
    return feats


class PassiveLearner(nn.Module):
    """Input projection, learned trial embeddings, a causal transformer, an action head."""

    def __init__(self, n_trials: int, config: BCConfig) -> None:
        super().__init__()
        self.inp = nn.Linear(N_FEATURES, config.d_model)
        self.pos = nn.Parameter(torch.zeros(n_trials, config.d_model))
        layer = nn.TransformerEncoderLayer(config.d_model, config.n_heads, 4 * config.d_model,
                                           dropout=0.0, batch_first=True, norm_first=True)
        self.body = nn.TransformerEncoder(layer, config.n_layers, enable_nested_tensor=False)
        self.head = nn.Linear(config.d_model, len(ACTIONS))

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        t = feats.shape[1]
        mask = nn.Transformer.generate_square_subsequent_mask(t)
        h = self.body(self.inp(feats) + self.pos[:t], mask=mask, is_causal=True)
        return self.head(h)


def train_passive_learner(
    expert: EpisodeBatch, config: BCConfig, seed: int = 0, log_every: int = 0,
    on_checkpoint: Callable[[int, "PassiveLearner"], None] | None = None, checkpoint_every: int = 0,
) -> tuple[PassiveLearner, list[float]]:
    """Behaviour cloning: cross-entropy of the expert's action at every trial. Returns the model
    and the training loss per step. Deterministic on CPU for a given seed.

    ``on_checkpoint(step, model)`` is called every ``checkpoint_every`` steps (and at the end),
    e.g. to evaluate the agent actively while it is still being trained passively."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    n_trials = expert.config.n_trials
    feats = torch.from_numpy(episode_features(expert, n_trials))
    targets = torch.from_numpy(expert.actions.astype(np.int64))
    if (targets < 0).any():
        raise InvalidArgument("the expert batch has unplayed trials; pass complete episodes")
    model = PassiveLearner(n_trials, config)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    losses = []
    for step in range(config.steps):
        idx = torch.randint(len(feats), (min(config.batch_size, len(feats)),), generator=gen)
        logits = model(feats[idx])
        loss = nn.functional.cross_entropy(logits.reshape(-1, len(ACTIONS)), targets[idx].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        if log_every and (step + 1) % log_every == 0:
            print(f"  step {step + 1}/{config.steps}  loss {np.mean(losses[-log_every:]):.4f}", flush=True)
        if on_checkpoint and checkpoint_every and (
                (step + 1) % checkpoint_every == 0 or step + 1 == config.steps):
            model.eval()
            on_checkpoint(step + 1, model)
            model.train()
    return model, losses


class BCPolicy:
    """The trained learner acting greedily; in exploitation the goal's own node is masked out."""

    def __init__(self, model: PassiveLearner) -> None:
        self.model = model.eval()

    @torch.no_grad()
    def act(self, batch: EpisodeBatch, t: int) -> np.ndarray:
        feats = torch.from_numpy(episode_features(batch, t + 1))
        logits = self.model(feats)[:, t].numpy()
        mask = np.stack([allowed_actions(int(g)) for g in batch.goals[:, t]])
        return np.argmax(np.where(mask, logits, -np.inf), axis=1).astype(int)
