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

import numpy as np

from bayes_agent.errors import InvalidArgument

from .example import mask_chat
from .templates import check_eot, check_template_syntax
from ..masking import IGNORE_INDEX, LabelMode, trains_nothing

__all__ = ["ChatCollator"]


def _positive_int(x: Any) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool) and x >= 1


def _token_list(k: int, key: str, values: Any, *, minimum: int) -> np.ndarray:
    """``values`` as a 1-d int64 array, each an integer ``>= minimum`` (-100 or a token id).

    Checked on the whole feature at once: the element types (a list's set of types, an array's or
    tensor's dtype), then the range. Only what that does not pass (a bad feature, or a list of
    0-d tensors) goes element by element through :func:`_one_by_one`, which names the first bad one."""
    if isinstance(values, (str, bytes, Mapping)) or not hasattr(values, "__iter__") or getattr(values, "ndim", 1) == 0:
        raise InvalidArgument(f"feature {k}: {key} must be a list of integers, got {type(values).__name__}")
    if hasattr(values, "detach"):  # a torch tensor
        values = values.detach().cpu().numpy()
    if isinstance(values, np.ndarray):
        integers = values.dtype.kind in "iu" and values.ndim == 1
    else:
        values = values if isinstance(values, (list, tuple)) else list(values)
        integers = all(issubclass(t, numbers.Integral) and not issubclass(t, (bool, np.bool_))
                       for t in set(map(type, values)))  # the types present, not each token's
    if integers:
        try:
            arr = np.asarray(values, dtype=np.int64)
        except OverflowError:  # an integer beyond int64: named below
            arr = None
        if arr is not None and arr.ndim == 1 and (arr.size == 0 or bool(
                (arr >= 0).all() if minimum == 0 else ((arr >= 0) | (arr == IGNORE_INDEX)).all())):
            return arr
    return _one_by_one(k, key, values, minimum)


def _one_by_one(k: int, key: str, values: Any, minimum: int) -> np.ndarray:
    """:func:`_token_list` element by element: the first element that is not an integer ``>= minimum``
    (or beyond int64) is named; numpy and 0-d torch integer scalars are taken as their values."""
    out = []
    for t, x in enumerate(values):
        v = x.item() if hasattr(x, "item") and getattr(x, "ndim", 0) == 0 else x  # numpy, torch scalars
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise InvalidArgument(f"feature {k}: {key}[{t}] must be an integer, got {v!r}")
        if v < minimum or minimum == IGNORE_INDEX and IGNORE_INDEX < v < 0 or v >= 2 ** 63:
            allowed = "a token id (>= 0)" + (f" or {IGNORE_INDEX} (no loss)" if minimum == IGNORE_INDEX else "")
            raise InvalidArgument(f"feature {k}: {key}[{t}] is {v}, not {allowed}")
        out.append(int(v))
    return np.asarray(out, dtype=np.int64)


_COUNTERS = ("examples", "tokens", "supervised_tokens", "truncated_tokens", "truncated_examples",
             "unlabelled_examples", "unmarked_examples")


def _counter(name: str) -> property:
    """A counter of :class:`ChatCollator`: the sum over every process that built its batches; setting
    it (e.g. to 0) sets the total."""
    column = _COUNTERS.index(name)

    def get(self: "ChatCollator") -> int:
        return int(self._counts[column])

    def put(self: "ChatCollator", value: int) -> None:
        with self._lock:
            self._counts[column] = int(value)

    return property(get, put, doc=f"{name.replace('_', ' ')} in the batches handed out so far (all processes)")


class ChatCollator:
    """Pad (and, for raw conversations, mask) a batch for causal-LM training in one label mode.

    Counters ``examples``, ``tokens``, ``supervised_tokens``, ``truncated_tokens``,
    ``truncated_examples``, ``unlabelled_examples`` (kept with zero weight) and ``unmarked_examples``
    (pre-tokenized, without ``label_mode``: their mode unchecked) add up the batches
    the collator has handed out, so a training run can report its mask accounting; a refused
    batch (no supervised label in any example) changes none of them. Batches built in DataLoader
    worker processes (``num_workers > 0``, ``dataloader_num_workers``) count too: the counters live
    in shared memory and each batch adds to them under a lock, so several DataLoaders sharing one
    collator at once (``Trainer``'s training and evaluation loaders) add up every batch each hands
    out; build one collator per DataLoader to count them apart. In a multi-process (multi-rank) run
    each rank counts its own batches; sum them over ranks.
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

        self._share()
        self._warned: set[str] = set()

    def _share(self) -> None:
        """New counters, in shared memory with a lock, so that every process that builds batches
        (DataLoader workers, of one or of several DataLoaders at once) adds to the same totals."""
        import multiprocessing

        import torch

        self._counts = torch.zeros(len(_COUNTERS), dtype=torch.long).share_memory_()
        # a spawn-context lock: a forked worker inherits it, a spawned one is handed it
        self._lock = multiprocessing.get_context("spawn").Lock()

    def __getstate__(self) -> dict[str, Any]:
        """Handed to a worker process as it starts: the same counters and lock. Otherwise (pickle,
        copy.deepcopy) the copy counts on its own, from the counts so far."""
        from multiprocessing.context import get_spawning_popen

        state = dict(self.__dict__)
        if get_spawning_popen() is None:
            state["_counts"] = self._counts.clone()
            del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if "_lock" not in state:
            counts = self._counts
            self._share()
            self._counts.copy_(counts)

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

    def _one(self, k: int, feature: Mapping[str, Any]) -> tuple["np.ndarray", "np.ndarray", int, bool]:
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
            if len(ids) == 0:
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
            return (np.asarray(ex.input_ids, dtype=np.int64), np.asarray(ex.labels(self.mode), dtype=np.int64),
                    ex.masked.truncated_tokens, False)
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
        batch_ids = np.full((len(rows), width), self.pad_token_id, dtype=np.int64)
        batch_labels = np.full((len(rows), width), IGNORE_INDEX, dtype=np.int64)
        batch_mask = np.zeros((len(rows), width), dtype=np.int64)
        for r, (ids, labels, _) in enumerate(rows):
            span = slice(0, len(ids)) if self.padding_side == "right" else slice(width - len(ids), width)
            batch_ids[r, span], batch_labels[r, span], batch_mask[r, span] = ids, labels, 1
            add["examples"] += 1
            add["tokens"] += len(ids)
            add["supervised_tokens"] += int((labels != IGNORE_INDEX).sum())
        with self._lock:  # one read-add-write at a time, whichever process or DataLoader builds the batch
            self._counts += torch.tensor([add[c] for c in _COUNTERS], dtype=torch.long)
        return {"input_ids": torch.from_numpy(batch_ids), "attention_mask": torch.from_numpy(batch_mask),
                "labels": torch.from_numpy(batch_labels)}
