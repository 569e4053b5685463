"""A data collator for gated chat examples, fitting the transformers/TRL collator contract.

``collator(features) -> {"input_ids", "attention_mask", "labels"}`` as ``torch.long`` tensors:
``input_ids`` padded with the pad token, ``labels`` padded with ``-100`` (the loss ignores those
positions), ``attention_mask`` 1 on real tokens. Features are either already tokenized
(``input_ids`` + ``labels``, e.g. written by ``bayes-agent chat-tokenize``) or raw conversations
(``messages``, optionally ``tools``) that are masked here through :func:`neural.chat.messages.mask_chat`
in the collator's label mode. The collator never invents labels: a feature without them is an
error, so a pipeline cannot silently fall back to full-sequence supervision.

An example with no supervised label at all (a conversation cut by ``max_length`` inside its tool
definitions, or one with only agent turns in the interventional mode) is kept with zero weight
(the token-mean loss gets nothing from it), counted, and warned about once. A batch in which *no*
example has a supervised label is refused with :class:`~bayes_agent.errors.InvalidArgument`: its
mean loss is 0/0, NaN in a bare ``model(**batch).loss`` (``Trainer`` divides by its own count of
0 too and only its logging filter shows 0), so the collator never hands it out. "Supervised"
counts from each example's second token: a causal LM never predicts the first one.
Truncation is counted and warned about once too; :meth:`ChatCollator.report` sums both up.

Pre-tokenized features carry the mode their labels were made for in ``label_mode`` (written by
:meth:`~neural.chat.example.ChatExample.features` with ``with_mode=True`` and by ``chat-tokenize``); a feature made for
another mode is refused, so an interventional run cannot train on observational labels. A feature
without ``label_mode`` (data written before the field existed, or by another tool) is accepted as
given, warned about once and counted in ``unmarked_examples``; ``require_label_mode=True`` refuses it.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any, Mapping, Sequence

from bayes_agent.errors import InvalidArgument

from .example import mask_chat
from .templates import check_eot, check_template_syntax
from ..masking import IGNORE_INDEX, LabelMode, trains_nothing

__all__ = ["ChatCollator"]


def _positive_int(x: Any) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool) and x >= 1


def _token_list(k: int, key: str, values: Any, *, minimum: int) -> list[int]:
    """``values`` as a list of Python ints, each an integer ``>= minimum`` (-100 or a token id)."""
    if isinstance(values, (str, bytes, Mapping)) or not hasattr(values, "__iter__"):
        raise InvalidArgument(f"feature {k}: {key} must be a list of integers, got {type(values).__name__}")
    out = []
    for t, x in enumerate(values):
        v = x.item() if hasattr(x, "item") and getattr(x, "ndim", 0) == 0 else x  # numpy, torch scalars
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise InvalidArgument(f"feature {k}: {key}[{t}] must be an integer, got {v!r}")
        if v < minimum or minimum == IGNORE_INDEX and IGNORE_INDEX < v < 0:
            allowed = "a token id (>= 0)" + (f" or {IGNORE_INDEX} (no loss)" if minimum == IGNORE_INDEX else "")
            raise InvalidArgument(f"feature {k}: {key}[{t}] is {v}, not {allowed}")
        out.append(int(v))
    return out


_COUNTERS = ("examples", "tokens", "supervised_tokens", "truncated_tokens", "truncated_examples",
             "unlabelled_examples", "unmarked_examples")
_ROWS = 1 + 256  # this process and up to 256 DataLoader workers


def _counter(name: str) -> property:
    """A counter of :class:`ChatCollator`: the sum over every process that built its batches; setting
    it (e.g. to 0) sets the total."""
    column = _COUNTERS.index(name)

    def get(self: "ChatCollator") -> int:
        return int(self._counts[:, column].sum())

    def put(self: "ChatCollator", value: int) -> None:
        self._counts[:, column] = 0
        self._counts[0, column] = int(value)

    return property(get, put, doc=f"{name.replace('_', ' ')} in the batches handed out so far (all processes)")


class ChatCollator:
    """Pad (and, for raw conversations, mask) a batch for causal-LM training in one label mode.

    Counters ``examples``, ``tokens``, ``supervised_tokens``, ``truncated_tokens``,
    ``truncated_examples``, ``unlabelled_examples`` (kept with zero weight) and ``unmarked_examples``
    (pre-tokenized, without ``label_mode``: their mode unchecked) add up the batches
    the collator has handed out, so a training run can report its mask accounting; a refused
    batch (no supervised label in any example) changes none of them. Batches built in DataLoader
    worker processes (``num_workers > 0``, ``dataloader_num_workers``) count too: the counters live
    in shared memory, one row per worker, summed when read. In a multi-process (multi-rank) run each
    rank counts its own batches; sum them over ranks.
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
        eot: str = "agent",
        require_label_mode: bool = False,
    ) -> None:
        self.eot = check_eot(eot)
        self.tokenizer = tokenizer
        self.mode = LabelMode.of(mode)
        self.roles = dict(roles) if roles else None
        self.chat_template = chat_template
        if max_length is not None and not _positive_int(max_length):
            raise InvalidArgument(f"max_length must be a positive integer, got {max_length!r}")
        self.max_length = max_length
        if pad_to_multiple_of is not None and not _positive_int(pad_to_multiple_of):
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
        if not _positive_int(pad_token_id) and pad_token_id != 0:
            raise InvalidArgument(f"pad_token_id must be a non-negative integer, got {pad_token_id!r}")
        self.pad_token_id = int(pad_token_id)
        self.require_label_mode = bool(require_label_mode)
        if tokenizer is not None and (chat_template is not None or getattr(tokenizer, "chat_template", None)):
            check_template_syntax(tokenizer, chat_template)
        import torch

        # one row per process that builds batches (0: this one; k + 1: DataLoader worker k), each
        # written by its own process only, in shared memory so that the workers' batches count here
        self._counts = torch.zeros(_ROWS, len(_COUNTERS), dtype=torch.long).share_memory_()
        self._warned: set[str] = set()

    def _row(self) -> int:
        """This process's row of the counters: 0, or 1 + the id of the DataLoader worker it is."""
        from torch.utils.data import get_worker_info

        info = get_worker_info()
        if info is None:
            return 0
        if info.id + 1 >= _ROWS:
            raise InvalidArgument(f"ChatCollator counts the batches of at most {_ROWS - 1} DataLoader workers, "
                                  f"got worker {info.id}")
        return info.id + 1

    def _warn_once(self, key: str, message: str, stacklevel: int = 3) -> None:
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(f"ChatCollator: {message}", stacklevel=stacklevel)

    examples = _counter("examples")
    tokens = _counter("tokens")
    supervised_tokens = _counter("supervised_tokens")
    truncated_tokens = _counter("truncated_tokens")
    truncated_examples = _counter("truncated_examples")
    unlabelled_examples = _counter("unlabelled_examples")
    unmarked_examples = _counter("unmarked_examples")

    def report(self) -> str:
        """One line of accounting, in the words of ``bayes-agent chat-tokenize``."""
        return (f"{self.examples} examples, {self.tokens} tokens, {self.supervised_tokens} supervised "
                f"({self.mode.value}); truncated {self.truncated_tokens} tokens in "
                f"{self.truncated_examples} examples; {self.unlabelled_examples} examples with no "
                f"supervised label, kept with zero weight"
                + (f"; {self.unmarked_examples} pre-tokenized examples without label_mode (mode unchecked)"
                   if self.unmarked_examples else ""))

    def _one(self, k: int, feature: Mapping[str, Any]) -> tuple[list[int], list[int], int, bool]:
        """Feature ``k`` as (input_ids, labels, tokens cut by max_length, pre-tokenized without label_mode)."""
        if not isinstance(feature, Mapping):
            raise InvalidArgument(f"feature {k} must be a mapping, got {type(feature).__name__}")
        if "input_ids" in feature:
            if "labels" not in feature:
                raise InvalidArgument(
                    f"feature {k} has input_ids but no labels; this collator never invents labels "
                    f"(mask with neural.chat.messages.mask_chat or pass the raw 'messages')"
                )
            unmarked = self._check_label_mode(k, feature)
            ids = _token_list(k, "input_ids", feature["input_ids"], minimum=0)
            labels = _token_list(k, "labels", feature["labels"], minimum=IGNORE_INDEX)
            if not ids:
                raise InvalidArgument(f"feature {k} has an empty input_ids list: there is nothing to train on")
            if len(ids) != len(labels):
                raise InvalidArgument(
                    f"feature {k}: input_ids and labels differ in length ({len(ids)} vs {len(labels)})"
                )
            cut = 0
            if self.max_length is not None and len(ids) > self.max_length:
                cut = len(ids) - self.max_length
                ids, labels = ids[: self.max_length], labels[: self.max_length]
            return ids, labels, cut, unmarked
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
                    eot=self.eot,
                )
            except InvalidArgument as exc:
                raise InvalidArgument(f"feature {k}: {exc}") from None
            return list(ex.input_ids), list(ex.labels(self.mode)), ex.masked.truncated_tokens, False
        raise InvalidArgument(
            f"feature {k} has neither 'input_ids' + 'labels' nor 'messages' (keys: {sorted(feature)})"
        )

    def _check_label_mode(self, k: int, feature: Mapping[str, Any]) -> bool:
        """Refuse labels made for another mode; True when the feature does not say its mode."""
        if feature.get("label_mode") is None:
            if self.require_label_mode:
                raise InvalidArgument(
                    f"feature {k} is pre-tokenized without label_mode, so its labels' mode cannot be checked "
                    f"(require_label_mode=True); write it with mask_chat(...).features(mode, with_mode=True) or chat-tokenize"
                )
            return True
        try:
            mode = LabelMode.of(feature["label_mode"])
        except (InvalidArgument, ValueError) as exc:
            raise InvalidArgument(f"feature {k}: bad label_mode: {exc}") from None
        if mode is not self.mode:
            raise InvalidArgument(
                f"feature {k} has {mode.value} labels but this collator trains the {self.mode.value} mode; "
                f"tokenize for {self.mode.value} (features({self.mode.value!r}, with_mode=True), chat-tokenize --mode "
                f"{self.mode.value}) or build ChatCollator(mode={mode.value!r})"
            )
        return False

    def __call__(self, features: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        import torch

        if isinstance(features, (Mapping, str, bytes)) or not isinstance(features, Sequence):
            raise InvalidArgument(
                f"features must be a list of examples (one mapping each), got {type(features).__name__}"
                + ("; wrap a single example as [feature]" if isinstance(features, Mapping) else "")
            )
        if not features:
            raise InvalidArgument("cannot collate an empty batch")
        full = [self._one(k, f) for k, f in enumerate(features)]
        rows = [(ids, labels, cut) for ids, labels, cut, _ in full]
        unmarked = sum(1 for *_, u in full if u)
        unlabelled = [cut for _, labels, cut in rows if trains_nothing(labels)]
        if len(unlabelled) == len(rows):
            cut = sum(1 for c in unlabelled if c)
            why = ", ".join(x for x in (
                f"{len(rows) - cut} with no supervised token after the first" if len(rows) > cut else "",
                f"{cut} cut at max_length={self.max_length}" if cut else "") if x)
            raise InvalidArgument(
                f"ChatCollator: none of the {len(rows)} examples in this batch has a supervised label in "
                f"the {self.mode.value} mode ({why}); the batch's mean loss would be 0/0 (NaN). "
                f"Remove such examples before training, e.g. "
                f"dataset.filter(lambda f: any(x != -100 for x in f['labels'][1:])) on features from "
                f"mask_chat(...).features(mode, with_mode=True) or chat-tokenize"
            )
        add = dict.fromkeys(_COUNTERS, 0)
        for _, _, cut in rows:
            if cut:
                add["truncated_tokens"] += cut
                add["truncated_examples"] += 1
                self._warn_once("truncated", f"cut {cut} tokens from an example at max_length="
                                f"{self.max_length} (labels cut with them); later cuts are counted "
                                f"silently, see collator.report()")
        if unmarked:
            add["unmarked_examples"] += unmarked
            self._warn_once("unmarked", f"{unmarked} pre-tokenized examples carry no label_mode, so this "
                            f"{self.mode.value} collator cannot check which mode their labels were made "
                            f"for (taken as given); write them with features(mode, with_mode=True) or chat-tokenize, "
                            f"counted in collator.unmarked_examples")
        if unlabelled:  # kept with zero weight: a token-mean loss gets nothing from them
            add["unlabelled_examples"] += len(unlabelled)
            self._warn_once("unlabelled", f"{len(unlabelled)} of {len(rows)} examples in a batch have no "
                            f"supervised label in the {self.mode.value} mode (kept with zero weight); "
                            f"counted in collator.unlabelled_examples, later ones silently")
        width = max(len(ids) for ids, _, _ in rows)
        if self.pad_to_multiple_of:
            m = self.pad_to_multiple_of
            width = (width + m - 1) // m * m
        batch_ids, batch_labels, batch_mask = [], [], []
        for ids, labels, _ in rows:
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
            add["examples"] += 1
            add["tokens"] += len(ids)
            add["supervised_tokens"] += sum(1 for x in labels if x != IGNORE_INDEX)
        self._counts[self._row()] += torch.tensor([add[c] for c in _COUNTERS], dtype=torch.long)
        return {
            "input_ids": torch.tensor(batch_ids, dtype=torch.long),
            "attention_mask": torch.tensor(batch_mask, dtype=torch.long),
            "labels": torch.tensor(batch_labels, dtype=torch.long),
        }
