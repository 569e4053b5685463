"""A table of bad calls: each must raise the project's own error, with a message naming the problem."""

from fractions import Fraction as F

import pytest

from bayes_agent import (
    BayesAgentError, Channel, HistoryProgram, InvalidArgument, LogSpaceMixture, Mixture, Slot,
    TableProgram, Transcript, ZeroEvidence, derive_two_action, symbols, two_action_mixture,
)

P = TableProgram("p", action={"A": "1/2", "B": "1/2"}, observation={"x": 1})
Q = TableProgram("q", action={"A": "1/4", "B": "3/4"}, observation={"x": 1})
H = Transcript(context="c")

BAD_CALLS = [
    ("negative prior", lambda: Mixture([P, Q], ["-1/2", "3/2"]), InvalidArgument, "negative"),
    ("prior not summing to 1", lambda: Mixture([P, Q], ["1/2", "1/3"]), InvalidArgument, "sums to 5/6"),
    ("prior length", lambda: Mixture([P, Q], ["1"]), InvalidArgument, "1 weights for 2 programs"),
    ("prior keys", lambda: Mixture([P, Q], {"p": 1}), InvalidArgument, "missing \\['q'\\]"),
    ("prior as text blob", lambda: Mixture([P], "1"), InvalidArgument, "sequence or a mapping"),
    ("prior is code", lambda: Mixture([P], ["__import__('os')"]), InvalidArgument, "must be a number"),
    ("prior NaN", lambda: Mixture([P], [float("nan")]), InvalidArgument, "finite"),
    ("prior bool", lambda: Mixture([P], [True]), InvalidArgument, "boolean"),
    ("empty mixture", lambda: Mixture([], []), InvalidArgument, "empty"),
    ("not a program", lambda: Mixture(["p"], [1]), InvalidArgument, "Program objects"),
    ("duplicate names", lambda: Mixture([P, P], ["1/2", "1/2"]), InvalidArgument, "unique"),
    ("bad arithmetic", lambda: Mixture([P], [1], arithmetic="decimal"), InvalidArgument, "arithmetic"),
    ("negative kernel", lambda: TableProgram("k", action={"A": "-0.5", "B": "1.5"}), InvalidArgument, "negative"),
    ("kernel sum", lambda: TableProgram("k", action={"A": "0.5", "B": "0.6"}), InvalidArgument, "sums to 11/10"),
    ("float kernel sum", lambda: TableProgram("k", action={"A": 0.5, "B": 0.6}), InvalidArgument, "not 1"),
    ("empty kernel", lambda: TableProgram("k", action={}), InvalidArgument, "empty"),
    ("no kernels", lambda: TableProgram("k"), InvalidArgument, "at least one kernel"),
    ("kernel not a mapping", lambda: TableProgram("k", action=[0.5, 0.5]), InvalidArgument, "mapping"),
    ("normalize zero row", lambda: TableProgram("k", action={"A": 0, "B": 0}, normalize=True), InvalidArgument, "positive mass"),
    ("both world kernels", lambda: TableProgram("k", observation={"x": 1}, observation_given_action={"A": {"x": 1}}), InvalidArgument, "not both"),
    ("nameless program", lambda: TableProgram("", action={"A": 1}), InvalidArgument, "name"),
    ("callable not callable", lambda: HistoryProgram("h", action=3), InvalidArgument, "callable"),
    ("value outside alphabet", lambda: Mixture([P, Q], ["1/2", "1/2"]).posterior(H.world("y")), InvalidArgument, "outside program 'p'"),
    ("action outside alphabet (obs)", lambda: Mixture([P, Q], ["1/2", "1/2"]).posterior(H.agent("C"), "obs"), InvalidArgument, "action alphabet"),
    ("gate not 0/1", lambda: H.append("A", 2), InvalidArgument, "gate must be 0"),
    ("gate in slot", lambda: Slot("A", "sometimes"), InvalidArgument, "gate must be 0"),
    ("history not a transcript", lambda: two_action_mixture().posterior(["A"]), InvalidArgument, "Transcript"),
    ("bad mode", lambda: two_action_mixture().posterior(H, "bayes"), InvalidArgument, "mode"),
    ("zero evidence", lambda: Mixture([TableProgram("z", action={"A": 1, "B": 0})], [1]).posterior(H.world("B", channel=Channel.ACTION)), ZeroEvidence, "undefined"),
    ("zero evidence float", lambda: LogSpaceMixture([TableProgram("z", action={"A": 1, "B": 0})], [1]).posterior(H.world("B", channel=Channel.ACTION)), ZeroEvidence, "undefined"),
    ("float value outside alphabet", lambda: LogSpaceMixture([P, Q], [0.5, 0.5]).posterior(H.world("y")), InvalidArgument, "outside program"),
    ("float bad path", lambda: LogSpaceMixture([P], [1]).posterior(H, path="fast"), InvalidArgument, "path"),
    ("threshold text", lambda: two_action_mixture().decide(H, "B", threshold="half"), InvalidArgument, "threshold"),
    ("history program bad row", lambda: Mixture([HistoryProgram("h", action=lambda h: {"A": -1, "B": 2})], [1]).posterior(H.world("A", channel="action")), InvalidArgument, "negative"),
    ("threshold above 1", lambda: two_action_mixture().decide(H, "B", threshold=2), InvalidArgument, r"threshold must be a probability in \[0, 1\], got 2"),
    ("threshold below 0", lambda: two_action_mixture().decide(H, "B", threshold=-1), InvalidArgument, r"in \[0, 1\], got -1"),
    ("threshold a symbol", lambda: two_action_mixture().decide(H, "B", threshold=symbols("t")), InvalidArgument, "threshold t is symbolic"),
    ("symbols in exact arithmetic", lambda: derive_two_action(prior=(symbols("w"), 1 - symbols("w"))), InvalidArgument, r"holds the symbol\(s\) w, but this computation runs in exact rationals"),
    ("transcript of None", lambda: Transcript(None), InvalidArgument, "slots must be an iterable of Slot objects, got NoneType"),
    ("relabel past the end", lambda: H.agent("A").relabel(9, 0), InvalidArgument, "slot index 9 is outside this transcript of 1 slots"),
    ("prior a hair short of 1, exact", lambda: Mixture([P, Q], [F(1, 3), F(2, 3) - F(1, 10 ** 30)]), InvalidArgument, r"sums to ≈1 \(1 − ≈1e-30\), not 1"),
]


@pytest.mark.parametrize("what, call, error, message", BAD_CALLS, ids=[b[0] for b in BAD_CALLS])
def test_bad_call_raises_a_named_error(what, call, error, message):
    with pytest.raises(error, match=message) as info:
        call()
    assert isinstance(info.value, BayesAgentError)


def test_normalize_is_the_only_rescaling():
    m = Mixture([P, Q], ["1", "3"], normalize=True)
    assert m.prior == {"p": F(1, 4), "q": F(3, 4)}


def test_a_huge_prior_sum_is_said_once_not_as_one_plus_itself():
    from bayes_agent.cli import main
    import contextlib, io

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(["two-action", "--prior", "1e400", "1"]) == 2
    assert "sums to ≈1e+400, not 1" in err.getvalue() and "1 + ≈" not in err.getvalue()
