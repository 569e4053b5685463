"""Three arithmetics for one engine: exact rationals, sympy closed forms, float64 in log space.

* Exact: :class:`~bayes_agent.mixture.Mixture` over ``fractions.Fraction`` (:func:`as_exact`).
* Symbolic: the same class over sympy expressions (:func:`as_symbolic`, :func:`symbols`,
  :func:`closed_form`, :func:`latex`); priors and kernels may be sympy Symbols. These live in
  :mod:`bayes_agent.symbolic` and are re-exported here.
* Float: :class:`LogSpaceMixture`, numpy float64 log weights vectorised over programs × slots.
  Table kernels use sufficient statistics (counts per (channel, condition, symbol)); any other
  program goes through a (programs × slots) matrix of log factors. Log space keeps
  100,000-slot histories far from underflow.

All three apply the intervention rule through :func:`bayes_agent.mixture.is_evidence`.
"""

from __future__ import annotations

import functools
import random
from fractions import Fraction
from typing import Any, Callable, Hashable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from ._logspace import log as _log, log_total as _log_total, logsumexp as _logsumexp
from ._checks import expect, expect_history
from ._numbers import FLOAT
from .errors import InvalidArgument, ZeroEvidence
from .mixture import Mixture, is_evidence
from .programs import KeyedTable, MarkovProgram, Program, TableProgram
from .seeds import seeded_random
from .symbolic import as_exact, as_symbolic, closed_form, latex, symbols
from .transcript import Channel, Gate, Mode, Transcript

__all__ = [
    "LogSpaceMixture",
    "as_exact",
    "as_float",
    "as_symbolic",
    "closed_form",
    "latex",
    "symbols",
]


def as_float(mixture: Mixture) -> "LogSpaceMixture":
    """The float64 log-space version of a mixture: a :class:`LogSpaceMixture`, which answers every
    :class:`Mixture` method (posterior, updater, act, decide, sampling, the ``*_from`` forms, ...)
    with its posteriors vectorised over programs; ``log_likelihood`` gives a numpy array over the
    programs rather than a dict. ``Mixture(programs, prior, arithmetic="float")`` is the unvectorised
    float mixture."""
    expect(mixture, Mixture, "as_float's argument")
    return LogSpaceMixture(mixture.programs, mixture.prior)


# ---------------------------------------------------------------------------------------------
# float64 log space
# ---------------------------------------------------------------------------------------------

# How a keyed table picks its row for a channel: no condition, the latest action, the previous slot.
_NONE, _LATEST_ACTION, _PREVIOUS = 0, 1, 2
_CHANNELS = (Channel.ACTION, Channel.OBSERVATION)


def _key_kind(program: KeyedTable, channel: Channel) -> int:
    if isinstance(program, MarkovProgram):
        return _PREVIOUS
    if isinstance(program, TableProgram):
        return _LATEST_ACTION if (channel is Channel.OBSERVATION and program.conditioned) else _NONE
    raise TypeError(type(program))


#: Columns per scipy call when a (programs × slots) trace is normalised (keeps each call in cache).
LSE_COLUMNS = 16384

#: Programs per block when the general path sums gathered log factors (a block stays in cache).
GATHER_ROWS = 256

#: Slots summed plainly before the chunk sums are added pairwise (the general path's accuracy).
SUM_CHUNK = 256

#: Slots per block of the blocked cumulative sum in :meth:`LogSpaceMixture.log_posterior_trace`.
TRACE_BLOCK = 512


def _blocked_cumsum(
    F: np.ndarray, carry: tuple[np.ndarray, np.ndarray] | None = None, block: int = TRACE_BLOCK
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Cumulative sums along axis 1 with error O(block · eps) instead of O(T · eps).

    Within a block numpy's cumsum is used; the block offsets are carried with Kahan-compensated
    summation, so a 10^6-slot trace ends where the batch sum does (to ~1e-13 relative).
    ``carry`` is the (sum, compensation) reached by the columns before ``F`` and is returned
    updated, so a long matrix can go through in chunks of whole blocks with the same result.
    """
    P, T = F.shape
    acc, comp = carry if carry is not None else (np.zeros(P), np.zeros(P))
    K = -(-T // block)
    if T % block:
        padded = np.zeros((P, K * block))
        padded[:, :T] = F
    else:
        padded = F
    inner = np.cumsum(padded.reshape(P, K, block), axis=2)
    totals = inner[:, :, -1]
    offsets = np.empty((P, K))
    with np.errstate(invalid="ignore"):
        for k in range(K):
            offsets[:, k] = acc
            y = totals[:, k] - comp
            t = acc + y
            comp = np.where(np.isfinite(t), (t - acc) - y, 0.0)
            acc = t
    inner += offsets[:, :, None]
    return inner.reshape(P, K * block)[:, :T], (acc, comp)


class _NotTabulated(Exception):
    """A slot's symbol is one only a program that is not a table knows: score it slot by slot."""


class LogSpaceMixture:
    """A mixture in float64 log space, vectorised with numpy over programs × slots.

    Validation is the exact engine's (the constructor builds a float :class:`Mixture`), so bad
    priors and kernels are refused with the same messages. Every other :class:`Mixture` method
    (``updater``, ``likelihood``, ``evidence``, the ``*_from`` forms, ...) is that float
    mixture's; ``decide`` and the samplers use this class's vectorised posterior.
    """

    arithmetic: str = FLOAT

    def __init__(
        self, programs: Iterable[Program], prior: Mapping[str, Any] | Sequence[Any], *, normalize: bool = False
    ) -> None:
        self._mixture = Mixture(programs, prior, normalize=normalize, arithmetic=FLOAT)
        self.programs = self._mixture.programs
        self.names = self._mixture.names
        prior_arr = np.array([self._mixture.prior[n] for n in self.names], dtype=np.float64)
        with np.errstate(divide="ignore"):
            self.log_prior = np.log(prior_arr)
        self._tables = [i for i, p in enumerate(self.programs) if isinstance(p, KeyedTable)]
        self._others = [i for i, p in enumerate(self.programs) if not isinstance(p, KeyedTable)]
        self._build_tables()

    @classmethod
    def from_mixture(cls, mixture: Mixture) -> "LogSpaceMixture":
        """Deprecated: the same as :func:`as_float` (kept so old code keeps working)."""
        import warnings

        warnings.warn("LogSpaceMixture.from_mixture is deprecated; use bayes_agent.as_float(mixture)",
                      DeprecationWarning, stacklevel=2)
        return as_float(mixture)

    @property
    def all_tables(self) -> bool:
        """True when every program is a keyed table, so sufficient statistics apply."""
        return not self._others

    # -- tables as arrays ----------------------------------------------------------------------
    def _build_tables(self) -> None:
        rows: dict[tuple[int, int, Hashable], int] = {}  # (channel, key kind, key) -> row id
        syms: dict[Hashable, int] = {}
        kinds = np.zeros((len(self.programs), 2), dtype=np.int64)
        for i in self._tables:
            p = self.programs[i]
            for c, ch in enumerate(_CHANNELS):
                kinds[i, c] = _key_kind(p, ch)
            for (ch, key), row in p.rows.items():
                rows.setdefault((_CHANNELS.index(ch), _key_kind(p, ch), key), len(rows))
                for s in row:
                    syms.setdefault(s, len(syms))
        # NaN marks "no such row or symbol for this program"; -inf is a probability of zero, as
        # is a symbol of the mixture's alphabet that this program's row lacks (Mixture.factor).
        log_k = np.full((len(self.programs), max(len(rows), 1), max(len(syms), 1)), np.nan)
        used = np.zeros((len(self.programs), max(len(rows), 1)), dtype=bool)
        for i in self._tables:
            p = self.programs[i]
            for (ch, key), row in p.rows.items():
                r = rows[(_CHANNELS.index(ch), _key_kind(p, ch), key)]
                log_k[i, r, [syms[s] for s in self._mixture.known_symbols(ch)]] = -np.inf
                for s, q in row.items():
                    with np.errstate(divide="ignore"):
                        log_k[i, r, syms[s]] = np.log(q)
            for (c, kk, _), r in rows.items():
                used[i, r] = kinds[i, c] == kk
        self._rows, self._syms, self._kinds, self._log_k, self._used = rows, syms, kinds, log_k, used
        self._row_names = {r: key for key, r in rows.items()}
        # programs grouped by (action key kind, observation key kind), each with its flat table
        self._groups, self._group_pos, self._nan_cols, self._by_cell = [], {}, {}, {}
        pos_of = {i: j for j, i in enumerate(self._tables)}
        for sig in sorted({tuple(kinds[i]) for i in self._tables}):
            members = [i for i in self._tables if tuple(kinds[i]) == sig]
            flat = np.ascontiguousarray(log_k[members].reshape(len(members), -1))
            self._groups.append((tuple(int(k) for k in sig), members, flat))
            self._group_pos[tuple(int(k) for k in sig)] = np.array([pos_of[i] for i in members])
            self._nan_cols[tuple(int(k) for k in sig)] = np.isnan(flat).any(axis=0)
            self._by_cell[id(flat)] = np.vstack([flat.T, np.zeros((1, len(members)))])
        self._sym_names = {s: v for v, s in syms.items()}

    def _encode(self, history: Transcript, mode: Mode) -> tuple[np.ndarray, ...]:
        """Per slot: channel index, symbol id, row id under each key kind, evidence flag.

        Vectorised: each distinct value gets an integer code once; the previous slot and the
        latest action are shifts and a running maximum over those codes, and row ids are table
        lookups. An agent slot outside the action alphabet is refused here, as in :class:`Mixture`.
        """
        expect_history(history)
        slots = history.slots
        T = len(slots)
        codes: dict[Hashable, int] = {}
        vid = np.fromiter((codes.setdefault(s.value, len(codes)) for s in slots), np.int64, T)
        distinct = list(codes)  # code -> value; code -1 (read as the last entry below) is None
        is_action = np.fromiter((s.channel is Channel.ACTION for s in slots), bool, T)
        everything = Mode.of(mode) is Mode.OBSERVATIONAL
        ev = np.ones(T, dtype=bool) if everything else np.fromiter((s.gate is Gate.WORLD for s in slots), bool, T)
        ch = np.where(is_action, 0, 1)
        sym = np.array([self._syms.get(v, -1) for v in distinct] + [-1], dtype=np.int64)[vid]

        by_kind = [[{}, {}], [{}, {}], [{}, {}]]  # [key kind][channel] -> {key: row id}
        for (c, kind, key), r in self._rows.items():
            by_kind[kind][c][key] = r

        def lookup(kind: int, keys: np.ndarray) -> np.ndarray:
            tables = [np.array([by_kind[kind][c].get(v, -1) for v in distinct]
                               + [by_kind[kind][c].get(None, -1)], dtype=np.int64) for c in (0, 1)]
            return np.where(is_action, tables[0][keys], tables[1][keys])

        previous = np.concatenate([[-1], vid[:-1]]) if T else vid
        at = np.where(is_action, np.arange(T), -1)
        last = np.concatenate([[-1], np.maximum.accumulate(at)[:-1]]) if T else at
        latest = np.where(last >= 0, vid[last], -1)
        row = np.stack([lookup(_NONE, np.full(T, -1, dtype=np.int64)), lookup(_LATEST_ACTION, latest),
                        lookup(_PREVIOUS, previous)]) if T else np.full((3, 0), -1, dtype=np.int64)

        if None in codes:  # None read as a key would pick the "no action yet" or start row
            self._refuse_none_key(history, ch, ev, (latest, previous), codes[None])
        if not everything:  # agent slots: their value must be one the programs could write
            agent = np.flatnonzero(~ev)
            for c, channel in ((0, Channel.ACTION), (1, Channel.OBSERVATION)):
                known = self._mixture.known_symbols(channel)
                if known is not None:
                    unknown = np.array([v not in known for v in distinct] + [False])[vid]
                    bad = agent[(ch[agent] == c) & unknown[agent]]
                    if len(bad):
                        self._mixture.check_agent_slot(history, int(bad[0]))
            if self._others:
                for t in agent:
                    self._mixture.check_agent_slot(history, int(t))
        return ch, sym, row, ev

    def _refuse_none_key(self, history: Transcript, ch: np.ndarray, ev: np.ndarray,
                         keys: tuple[np.ndarray, np.ndarray], none: int) -> None:
        """An evidence slot whose table key (latest action, previous value) is a slot holding None:
        the engine's refusal (:meth:`TableProgram.key_at`, :meth:`MarkovProgram.key_at`)."""
        for i in self._tables:
            for c in (0, 1):
                kind = int(self._kinds[i, c])
                if kind != _NONE:
                    hit = np.flatnonzero(ev & (ch == c) & (keys[kind - 1] == none))
                    if len(hit):
                        self._mixture.factor(self.programs[i], history, int(hit[0]))  # raises

    def _group_columns(self, history: Transcript, mode: Mode) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per group of table programs: (positions among the tables, flat table, column per slot).

        Programs sharing a conditioning signature read the same (row, symbol) cell at each slot, so
        a group's log factors are one column gather from its contiguous (programs × cells) array.
        Every column is checked first: a slot no program can score raises the engine's message.
        """
        ch, sym, row, ev = self._encode(history, mode)
        te = np.flatnonzero(ev)
        S = self._log_k.shape[2]
        for (ka, ko), members, flat in self._groups:
            kind_t = np.where(ch[te] == 0, ka, ko)
            r = row[kind_t, te]
            col = r * S + sym[te]
            bad_slot = (r < 0) | (sym[te] < 0)
            if bad_slot.any():
                t = int(te[np.flatnonzero(bad_slot)[0]])
                self._raise_bad(history, np.asarray(members[:1]), np.eye(1, len(ch), t, dtype=bool))
            uniq = np.unique(col)
            if self._nan_cols[(ka, ko)][uniq].any():  # a cell some member lacks: find who, where
                nan_cells = np.isnan(flat[:, uniq])
                j, c = map(int, np.argwhere(nan_cells)[0])
                t = int(te[np.flatnonzero(col == uniq[c])[0]])
                self._raise_bad(history, np.asarray([members[j]]), np.eye(1, len(ch), t, dtype=bool))
            yield self._group_pos[(ka, ko)], flat, col, te

    def _table_gather(self, history: Transcript, mode: Mode) -> tuple[np.ndarray, np.ndarray]:
        """Log factors of the table programs on the evidence slots: ((tables × evidence slots), slots)."""
        out, te = None, np.zeros(0, dtype=np.int64)
        try:
            for pos, flat, col, te in self._group_columns(history, mode):
                if out is None:
                    out = np.empty((len(self._tables), len(te)))
                out[pos] = flat.take(col, axis=1)
        except _NotTabulated:
            return self._table_factors(history, mode)
        return (out if out is not None else np.empty((0, 0))), te

    def _table_gather_sum(self, history: Transcript, mode: Mode) -> np.ndarray:
        """Σ over evidence slots of the table programs' log factors, gathered GATHER_ROWS programs
        at a time so each block stays in cache instead of materialising (programs × slots)."""
        out = np.zeros(len(self._tables))
        try:
            groups = list(self._group_columns(history, mode))
        except _NotTabulated:
            return self._table_factors(history, mode)[0].sum(axis=1)
        for pos, flat, col, _ in groups:
            cells = self._by_cell[id(flat)]  # (cells + 1 zero row) × programs: gathered rows are contiguous
            # slots in chunks of SUM_CHUNK (plain sums, error ~SUM_CHUNK·eps); chunk sums are then
            # added pairwise, so a 10^6-slot sum is as accurate as numpy's sum of a contiguous row
            if not len(col):
                continue  # no evidence slots: log L = 0
            K = -(-len(col) // SUM_CHUNK)
            padded = np.full(K * SUM_CHUNK, len(cells) - 1, dtype=np.int64)
            padded[:len(col)] = col
            sums = np.empty(flat.shape[0])
            for r0 in range(0, flat.shape[0], GATHER_ROWS):
                block = cells[padded, r0:r0 + GATHER_ROWS]
                chunks = block.reshape(K, SUM_CHUNK, -1).sum(axis=1)
                sums[r0:r0 + GATHER_ROWS] = np.ascontiguousarray(chunks.T).sum(axis=1)
            out[pos] = sums
        return out

    def _raise_bad(self, history: Transcript, idx: np.ndarray, bad: np.ndarray) -> None:
        """A cell the tables cannot score: the engine's own message, or, for a symbol only a
        program that is not a table knows, :class:`_NotTabulated` (scored slot by slot instead)."""
        j, t = map(int, np.argwhere(bad)[0])
        self._mixture.factor(self.programs[int(idx[j])], history, t)  # raises the engine's message
        raise _NotTabulated

    def _table_factors(self, history: Transcript, mode: Mode) -> tuple[np.ndarray, np.ndarray]:
        """Log factors of the table programs on the evidence slots, slot by slot through
        :meth:`Mixture.factor` (for a slot whose symbol the tables do not hold)."""
        te = np.fromiter((t for t, s in enumerate(history) if is_evidence(s, mode)), np.int64)
        out = np.array([[_log(self._mixture.factor(self.programs[i], history, int(t))) for t in te]
                        for i in self._tables]).reshape(len(self._tables), len(te))
        return out, te

    # -- log factors, likelihoods, posteriors --------------------------------------------------
    def log_factors(self, history: Transcript, mode: Mode | str = Mode.INTERVENTIONAL) -> np.ndarray:
        """log ν_p(z_i | h_<i, c) as a (programs × slots) array, 0 for slots that are not evidence.

        Table programs are gathered in one numpy indexing step; other programs are scored slot by
        slot through their own ``prob``.
        """
        mode = Mode.of(mode)
        expect_history(history)
        F = np.zeros((len(self.programs), len(history)))
        if self._tables:
            vals, te = self._table_gather(history, mode)
            F[np.ix_(self._tables, te)] = vals
        if self._others:
            if not self._tables:
                self._mixture.check_unscored(history, mode)
            for t, slot in enumerate(history):
                if is_evidence(slot, mode):
                    for i in self._others:
                        F[i, t] = _log(self._mixture.factor(self.programs[i], history, t))
        return F

    def sufficient_statistics(
        self, history: Transcript, mode: Mode | str = Mode.INTERVENTIONAL, *, _encoded: Any = None
    ) -> np.ndarray:
        """Counts of evidence slots per (condition kind, row, symbol); a row is a (channel, condition)."""
        mode = Mode.of(mode)
        ch, sym, row, ev = _encoded if _encoded is not None else self._encode(history, mode)
        R, S = self._log_k.shape[1:]
        counts = np.zeros((3, R, S), dtype=np.int64)
        for k in range(3):
            ok = ev & (row[k] >= 0) & (sym >= 0)
            counts[k] = np.bincount(row[k][ok] * S + sym[ok], minlength=R * S).reshape(R, S)
        return counts

    def _table_loglik(self, history: Transcript, mode: Mode) -> np.ndarray:
        """log L from sufficient statistics: O(slots) to count, O(programs × distinct cells) to score."""
        ch, sym, row, ev = self._encode(history, mode)
        idx = np.asarray(self._tables)
        kinds = self._kinds[idx]
        # a program fails if an evidence slot of its channel finds no row under its key kind
        for c in (0, 1):
            on = ev & (ch == c)
            missing_by_kind = np.array([np.any(on & ((row[k] < 0) | (sym < 0))) for k in range(3)])
            bad = missing_by_kind[kinds[:, c]]
            if bad.any():
                j = int(np.flatnonzero(bad)[0])
                k = int(kinds[j, c])
                t = int(np.flatnonzero(on & ((row[k] < 0) | (sym < 0)))[0])
                self._raise_bad(history, idx[[j]], np.eye(1, len(ch), t, dtype=bool))
        counts = self.sufficient_statistics(history, mode, _encoded=(ch, sym, row, ev)).sum(axis=0)
        rr, ss = np.nonzero(counts)
        vals = self._log_k[idx[:, None], rr[None, :], ss[None, :]]  # (tables, distinct cells)
        used = self._used[idx][:, rr]
        if np.isnan(vals[used]).any():  # a symbol outside some program's alphabet
            j, cell = map(int, np.argwhere(used & np.isnan(vals))[0])
            hit = (sym == ss[cell]) & ev & np.any(row == rr[cell], axis=0)
            t = int(np.flatnonzero(hit)[0])
            self._raise_bad(history, idx[[j]], np.eye(1, len(ch), t, dtype=bool))
        vals = np.where(used, vals, 0.0)
        c = counts[rr, ss].astype(np.float64)
        with np.errstate(invalid="ignore"):
            # -inf · count stays -inf; counts are positive here, so no 0 · inf appears
            return np.where(np.isneginf(vals), -np.inf, vals * c[None, :]).sum(axis=1)

    def log_likelihood(
        self, history: Transcript, mode: Mode | str = Mode.INTERVENTIONAL, *, path: str = "auto"
    ) -> np.ndarray:
        """log L_t(p) for every program. ``path``: "table" (sufficient statistics), "general"
        (the programs × slots matrix) or "auto" (table when every program is a keyed table)."""
        mode = Mode.of(mode)
        if path not in ("auto", "table", "general"):
            raise InvalidArgument(f"path must be 'auto', 'table' or 'general', got {path!r}")
        if path == "table" and not self.all_tables:
            raise InvalidArgument("the table path needs every program to be a table program")
        if path == "general" or (path == "auto" and not self.all_tables):
            if not self._tables:
                return self.log_factors(history, mode).sum(axis=1)
            out = np.zeros(len(self.programs))
            out[self._tables] = self._table_gather_sum(history, mode)
            if self._others:
                out[self._others] = self.log_factors(history, mode)[self._others].sum(axis=1)
            return out
        return self._table_loglik(history, mode)

    def _normalise(self, log_joint: np.ndarray, mode: Mode) -> np.ndarray:
        """log w = log joint − log Σ_programs exp(log joint), per column, in place (callers pass a
        fresh array). A (programs × slots) trace goes through in column chunks, so each chunk's
        temporaries stay in cache (an (8 × 10^6) trace: 359 against 420 ns per slot, measured
        once) and the trace is not copied again."""
        if log_joint.ndim == 1:
            total = _logsumexp(log_joint)
            self._check_evidence(total, mode)
            log_joint -= total
            return log_joint
        for a in range(0, log_joint.shape[1], LSE_COLUMNS):
            chunk = log_joint[:, a:a + LSE_COLUMNS]
            total = _logsumexp(chunk, axis=0)
            self._check_evidence(total, mode)
            chunk -= total
        return log_joint

    @staticmethod
    def _check_evidence(total: np.ndarray, mode: Mode) -> None:
        if np.any(~np.isfinite(total)):
            raise ZeroEvidence.everywhere(mode)

    def log_posterior(
        self, history: Transcript, mode: Mode | str = Mode.INTERVENTIONAL, *, path: str = "auto"
    ) -> np.ndarray:
        """log w_t(p) (or log w_t^obs(p)) as a float64 array over programs."""
        mode = Mode.of(mode)
        return self._normalise(self.log_prior + self.log_likelihood(history, mode, path=path), mode)

    def log_evidence(self, history: Transcript, mode: Mode | str = Mode.INTERVENTIONAL, *, path: str = "auto") -> float:
        """log Σ_p w_0(p) L_t(p): log-sum-exp of log w_0 + log L over the programs (no underflow;
        -inf when the evidence is zero), as :meth:`Mixture.log_evidence`."""
        return _log_total(self.log_prior + self.log_likelihood(history, Mode.of(mode), path=path))

    def posterior(self, history: Transcript, mode: Mode | str = Mode.INTERVENTIONAL, *, path: str = "auto") -> dict[str, float]:
        """w_t(p) as a dict of floats, keyed like :meth:`Mixture.posterior`."""
        return dict(zip(self.names, np.exp(self.log_posterior(history, mode, path=path)).tolist()))

    def log_posterior_trace(self, history: Transcript, mode: Mode | str = Mode.INTERVENTIONAL) -> np.ndarray:
        """The sequential updater, vectorised: log w after 0, 1, ..., t slots, shape (programs, t+1)."""
        mode = Mode.of(mode)
        F = self.log_factors(history, mode)
        P, T = F.shape
        out = np.empty((P, T + 1))
        out[:, 0] = self.log_prior
        carry = None
        step = LSE_COLUMNS - LSE_COLUMNS % TRACE_BLOCK  # whole blocks per chunk: the same sums as one pass
        for a in range(0, T, step):  # chunk by chunk, so the temporaries stay in cache
            cum, carry = _blocked_cumsum(F[:, a:a + step], carry)
            np.add(self.log_prior[:, None], cum, out=out[:, 1 + a:1 + a + cum.shape[1]])
        return self._normalise(out, mode)

    def act(self, history: Transcript, mode: Mode | str = Mode.INTERVENTIONAL) -> dict[Hashable, float]:
        """π(a | h, c) with float weights."""
        return self._mixture.act_from(self.posterior(history, mode), history)

    def predict(self, history: Transcript, action: Hashable, mode: Mode | str = Mode.INTERVENTIONAL) -> dict[Hashable, float]:
        """π(o | h, do(a), c) with float weights (``mode="obs"``: P(o | h, a))."""
        extended = expect_history(history).agent(action)
        return self._mixture.predict_from(self.posterior(extended, mode), extended)

    @property
    def prior(self) -> dict[str, float]:
        """w_0 as a dict of floats, keyed like :attr:`Mixture.prior`."""
        return self._mixture.prior

    def decide(self, history: Transcript, target: Hashable, *, threshold: Any = Fraction(1, 2),
               otherwise: Hashable | None = None, mode: Mode | str = Mode.INTERVENTIONAL) -> Any:
        """:meth:`Mixture.decide` (§4.1) on this mixture's action distribution."""
        return self._mixture.decide_from(self.act(history, mode), target, threshold, otherwise)

    def sample_program(self, history: Transcript, seed: int | random.Random,
                       mode: Mode | str = Mode.INTERVENTIONAL) -> Program:
        """p̄ ~ w_t(p), seeded, as :meth:`Mixture.sample_program`."""
        return self._mixture.sample_program_from(self.posterior(history, mode), seeded_random(seed))

    def sample_action(self, history: Transcript, seed: int | random.Random,
                      mode: Mode | str = Mode.INTERVENTIONAL) -> Hashable:
        """Posterior sampling (§3.4) as :meth:`Mixture.sample_action`: p̄ ~ w_t, then a ~ ν_p̄."""
        return self._mixture.sample_action_from(self.posterior(history, mode), history, seeded_random(seed))


def _delegated(name: str) -> Callable[..., Any]:
    """LogSpaceMixture.name: the same method of its float :class:`Mixture` (docstring kept)."""
    @functools.wraps(getattr(Mixture, name))
    def method(self: LogSpaceMixture, *args: Any, **kwargs: Any) -> Any:
        return getattr(self._mixture, name)(*args, **kwargs)
    return method


for _name in ("updater", "likelihood", "evidence", "factor", "knows", "known_symbols", "check_unscored",
              "check_agent_slot", "check_weights", "act_from", "predict_from", "decide_from", "sample_action_from", "alphabet",
              "sample_program_from"):
    setattr(LogSpaceMixture, _name, _delegated(_name))
del _name
