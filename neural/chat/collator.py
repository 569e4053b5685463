"""A data collator for gated chat examples, fitting the transformers/TRL collator contract.

``collator(features) -> {"input_ids", "attention_mask", "labels"}`` as ``torch.long`` tensors:
``input_ids`` padded with the pad token, ``labels`` padded with ``-100`` (the loss ignores those
positions), ``attention_mask`` 1 on real tokens. Features are either already tokenized
(``input_ids`` + ``labels``, e.g. written by ``bayes-agent chat-tokenize``) or raw conversations
(``messages``, optionally ``tools``) that are masked here through :func:`neural.chat.messages.mask_chat`
in the collator's label mode. The collator never invents labels: a feature without them is an
error, so a pipeline cannot silently fall back to full-sequence supervision.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from bayes_agent.errors import InvalidArgument

from .messages import mask_chat
from ..masking import IGNORE_INDEX, LabelMode

__all__ = ["ChatCollator"]


class ChatCollator:
    """Pad (and, for raw conversations, mask) a batch for causal-LM training in one label mode.

    Counters ``examples``, ``tokens``, ``supervised_tokens`` and ``truncated_tokens`` add up what
    the collator has produced so far, so a training run can report its mask accounting.
    """

    def __init__(
        self,
        tokenizer: Any = None,
        *,
        mode: LabelMode | str = LabelMode.INTERVENTIONAL,
        pad_token_id: int | None = None,
        roles: Mapping[str, Any] | None = None,
        chat_template: str | None = None,
        max_length: int | None = None,
        pad_to_multiple_of: int | None = None,
        padding_side: str = "right",
    ) -> None:
        self.tokenizer = tokenizer
        self.mode = LabelMode.of(mode)
        self.roles = dict(roles) if roles else None
        self.chat_template = chat_template
        if max_length is not None and (not isinstance(max_length, int) or max_length < 1):
            raise InvalidArgument(f"max_length must be a positive integer, got {max_length!r}")
        self.max_length = max_length
        if pad_to_multiple_of is not None and (not isinstance(pad_to_multiple_of, int) or pad_to_multiple_of < 1):
            raise InvalidArgument(f"pad_to_multiple_of must be a positive integer, got {pad_to_multiple_of!r}")
        self.pad_to_multiple_of = pad_to_multiple_of
        if padding_side not in ("right", "left"):
            raise InvalidArgument(f"padding_side must be 'right' or 'left', got {padding_side!r}")
        self.padding_side = padding_side
        if pad_token_id is None and tokenizer is not None:
            pad_token_id = getattr(tokenizer, "pad_token_id", None)
            if pad_token_id is None:
                pad_token_id = getattr(tokenizer, "eos_token_id", None)
        if pad_token_id is None:
            raise InvalidArgument(
                "no pad token id: pass pad_token_id= or a tokenizer with a pad or eos token"
            )
        self.pad_token_id = int(pad_token_id)
        self.examples = 0
        self.tokens = 0
        self.supervised_tokens = 0
        self.truncated_tokens = 0

    def _one(self, k: int, feature: Mapping[str, Any]) -> tuple[list[int], list[int]]:
        if not isinstance(feature, Mapping):
            raise InvalidArgument(f"feature {k} must be a mapping, got {type(feature).__name__}")
        if "input_ids" in feature:
            if "labels" not in feature:
                raise InvalidArgument(
                    f"feature {k} has input_ids but no labels; this collator never invents labels "
                    f"(mask with neural.chat.messages.mask_chat or pass the raw 'messages')"
                )
            ids = [int(x) for x in feature["input_ids"]]
            labels = [int(x) for x in feature["labels"]]
            if len(ids) != len(labels):
                raise InvalidArgument(
                    f"feature {k}: input_ids and labels differ in length ({len(ids)} vs {len(labels)})"
                )
            if self.max_length is not None and len(ids) > self.max_length:
                self.truncated_tokens += len(ids) - self.max_length
                ids, labels = ids[: self.max_length], labels[: self.max_length]
            return ids, labels
        if "messages" in feature:
            if self.tokenizer is None:
                raise InvalidArgument(f"feature {k} is a raw conversation; the collator needs a tokenizer")
            try:
                ex = mask_chat(
                    feature["messages"],
                    self.tokenizer,
                    roles=self.roles,
                    tools=feature.get("tools"),
                    chat_template=self.chat_template,
                    max_length=self.max_length,
                )
            except InvalidArgument as exc:
                raise InvalidArgument(f"feature {k}: {exc}") from None
            self.truncated_tokens += ex.masked.truncated_tokens
            return list(ex.input_ids), list(ex.labels(self.mode))
        raise InvalidArgument(
            f"feature {k} has neither 'input_ids' + 'labels' nor 'messages' (keys: {sorted(feature)})"
        )

    def __call__(self, features: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        import torch

        if not features:
            raise InvalidArgument("cannot collate an empty batch")
        rows = [self._one(k, f) for k, f in enumerate(features)]
        width = max(len(ids) for ids, _ in rows)
        if self.pad_to_multiple_of:
            m = self.pad_to_multiple_of
            width = (width + m - 1) // m * m
        batch_ids, batch_labels, batch_mask = [], [], []
        for ids, labels in rows:
            pad = width - len(ids)
            fill_ids, fill_labels, mask = [self.pad_token_id] * pad, [IGNORE_INDEX] * pad, [1] * len(ids)
            if self.padding_side == "right":
                batch_ids.append(ids + fill_ids)
                batch_labels.append(labels + fill_labels)
                batch_mask.append(mask + [0] * pad)
            else:
                batch_ids.append(fill_ids + ids)
                batch_labels.append(fill_labels + labels)
                batch_mask.append([0] * pad + mask)
            self.examples += 1
            self.tokens += len(ids)
            self.supervised_tokens += sum(1 for x in labels if x != IGNORE_INDEX)
        return {
            "input_ids": torch.tensor(batch_ids, dtype=torch.long),
            "attention_mask": torch.tensor(batch_mask, dtype=torch.long),
            "labels": torch.tensor(batch_labels, dtype=torch.long),
        }
