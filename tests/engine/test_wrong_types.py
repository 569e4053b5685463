"""Wrong argument types at the public entry points give one named InvalidArgument, never a raw
TypeError / AttributeError / enum ValueError from deep inside."""

import pytest

from bayes_agent import (Channel, EngineRegime, Gate, InvalidArgument, LogSpaceMixture, Mixture, Mode, Part,
                         PosteriorTrace, Slot, Transcript, Updater, as_exact, as_float, as_symbolic,
                         evidence_slots, invoice_updates, is_evidence, latest_action, plot_ensemble,
                         plot_trajectory, render, simulate_many, simulate_trajectory, two_action_mixture)

M = two_action_mixture()
H = Transcript(context="c").agent("A")
P = M.programs[0]
OBJ = object()

CASES = {
    "Mixture(5, [1])": lambda: Mixture(5, [1]),
    "LogSpaceMixture(5, 5)": lambda: LogSpaceMixture(5, 5),
    "as_exact(None)": lambda: as_exact(None),
    "as_symbolic('m')": lambda: as_symbolic("m"),
    "as_float(None)": lambda: as_float(None),
    "Updater(object())": lambda: Updater(OBJ),
    "invoice_updates(5)": lambda: invoice_updates(5),
    "latest_action(None)": lambda: latest_action(None),
    "render(None)": lambda: render(None),
    "render(speakers=5)": lambda: render(H, speakers=5),
    "render(speakers={1: 5})": lambda: render(H, speakers={1: 5}),
    "render(turn_separator=5)": lambda: render(H, turn_separator=5),
    "evidence_slots(None)": lambda: list(evidence_slots(None, "do")),
    "is_evidence('A')": lambda: is_evidence("A", "do"),
    "factor(None, h, 0)": lambda: M.factor(None, H, 0),
    "factor(p, h, '0')": lambda: M.factor(P, H, "0"),
    "factor(p, h, 5)": lambda: M.factor(P, H, 5),
    "Transcript.from_pairs(5)": lambda: Transcript.from_pairs(5),
    "Transcript.from_values(5, 5)": lambda: Transcript.from_values(5, 5),
    "h.prefix('1')": lambda: H.prefix("1"),
    "h.prefix(None)": lambda: H.prefix(None),
    "h.prefix(1.5)": lambda: H.prefix(1.5),
    "h['0']": lambda: H["0"],
    "h[1.0]": lambda: H[1.0],
    "part_at('x')": lambda: render(H).part_at("x"),
    "as_float(m).predict(None)": lambda: as_float(M).predict(None, "A"),
    "log_posterior_trace(None)": lambda: as_float(M).log_posterior_trace(None),
    "schedule=5": lambda: simulate_trajectory(M, "p_B", steps=3, schedule=5),
    "simulate_many(None)": lambda: simulate_many(None, "p_B", runs=2, steps=3, arithmetic="float"),
    "plot_ensemble(None)": lambda: plot_ensemble(None, "x.png"),
    "plot_trajectory(None)": lambda: plot_trajectory(None, "x.png"),
    "plot_trajectory(tr, None)": lambda: plot_trajectory(simulate_trajectory(M, "p_B", steps=2), None),
    "Gate(object())": lambda: Gate(OBJ),
    "Mode(object())": lambda: Mode(OBJ),
    "Channel(object())": lambda: Channel(OBJ),
    "Part(object())": lambda: Part(OBJ),
    "EngineRegime('bogus')": lambda: EngineRegime("bogus"),
    "EngineRegime(5)": lambda: EngineRegime(5),
    "Slot(speaker=5)": lambda: Slot("A", 1, speaker=5),
    "PosteriorTrace(object())": lambda: PosteriorTrace(OBJ, []),
}


@pytest.mark.parametrize("name", list(CASES))
def test_wrong_type_is_a_named_invalid_argument(name):
    with pytest.raises(InvalidArgument) as e:
        CASES[name]()
    assert "\n" not in str(e.value)


def test_unsupported_figure_format_is_named(tmp_path):
    e = simulate_many(M, "p_B", runs=2, steps=3)
    with pytest.raises(InvalidArgument, match="no 'txt' format"):
        plot_ensemble(e, tmp_path / "x.txt")
    assert not (tmp_path / "x.txt").exists()


def test_the_right_types_still_work():
    assert Gate("agent") is Gate.AGENT and Mode("observational") is Mode.OBSERVATIONAL
    assert Channel("action") is Channel.ACTION and Part("content") is Part.CONTENT
    assert H[-1].value == "A" and len(H.prefix(-1)) == 0
    import numpy as np
    assert H[np.int64(0)].value == "A"
    assert render(H, speakers={1: "Assistant"}).text.endswith("Assistant: A")
