"""The three lecture pages as a Panel app: widgets in, :mod:`.lessons` results laid out as HTML.

Panel is imported inside :func:`build_app` only, so importing :mod:`bayes_agent.lecture` stays
light. Every number shown comes from :mod:`.lessons` (the public engine API); this module only
draws fractions, bars, graphs and the derivation.
"""

from __future__ import annotations

import html
import math
from fractions import Fraction
from typing import Any, Hashable, Mapping

from .. import BayesAgentError, CLIMATES, Gate, Mode
from .lessons import (DEFAULT_FIELDS, DEFAULT_SLOTS, LOCK_LEVEL, SCM_DEFAULTS, SEED_RANGE, check_page_seed,
                      delusion_lesson, lock_moment, see_do_lesson, two_action_lesson)

__all__ = ["PAGES", "build_app", "build_handout_page"]

TITLE = "The do-operator, live"
_CSS = """
.bars {font-family: sans-serif; font-size: 15px}
.bars td {padding: 2px 8px}
.frac {font-family: monospace; font-size: 17px; font-weight: bold}
.bar {display: inline-block; height: 14px; vertical-align: middle}
.do {background: #1f77b4} .obs {background: #d62728}
.problem {color: #b00020; font-weight: bold; font-family: sans-serif}
.slot-agent {background: #ffe8b0} .slot-world {background: #d8ecff}
.strip span {display: inline-block; width: 15px; text-align: center; font-family: monospace}
"""


def _frac(x: Any, ident: str | None = None) -> str:
    x = Fraction(x)
    who = f' id="{ident}"' if ident else ""
    return f'<span class="frac"{who} title="{float(x):.6g}">{x}</span> <small>≈ {float(x):.4f}</small>'


def _bar(x: Any, kind: str) -> str:
    return f'<span class="bar {kind}" style="width:{float(x) * 240:.1f}px"></span>'


def _problems(exc: BayesAgentError) -> str:
    items = getattr(exc, "problems", None) or (exc,)
    lis = "".join(f"<li>{html.escape(str(p))}</li>" for p in items)
    return f'<div class="problem" role="alert">Cannot use this input:<ul>{lis}</ul></div>'


# ---------------------------------------------------------------------------------------------
# Page 1: the two-action example (§4)
# ---------------------------------------------------------------------------------------------

def _weight(w: Mapping[str, Any] | None, name: str, ident: str, bar: str | None = None) -> str:
    """One posterior weight as a fraction (and a bar), or "undefined" where its updater hit 0/0."""
    if w is None:
        return f'<span class="undefined" id="{ident}">undefined (0/0)</span>'
    return _frac(w[name], ident) + (f" {_bar(w[name], bar)}" if bar else "")


def _two_action_html(fields: Mapping[str, str], slots: list[tuple[str, int]]) -> tuple[str, str]:
    """(results HTML, LaTeX derivation) for the current inputs; problems as an inline message."""
    try:
        t = two_action_lesson(fields, slots)
    except BayesAgentError as exc:
        return _problems(exc), ""
    n = len(t.history)
    gates = ", ".join(f"γ_{i}={int(s.gate)} ({'agent' if s.gate is Gate.AGENT else 'world'} wrote {s.value})"
                      for i, s in enumerate(t.history, start=1))
    rows = "".join(
        f"<tr><td>{name}</td><td>{_frac(t.prior[name])}</td>"
        + "".join(f"<td>{_weight(t.weights[m][-1], name, f'w-{m}-{name}', m)}</td>" for m in ("do", "obs"))
        + "</tr>" for name in t.prior)
    steps = "".join(
        f"<tr><td>after slot {i}</td>"
        + "".join(f"<td>{_weight(t.weights[m][i], 'p_B', f'w{i}-{m}-p_B')}</td>" for m in ("do", "obs"))
        + "</tr>" for i in range(1, n + 1))
    # only the naive updater can fail alone: L^obs is L^do times the agent slots' factors, so a
    # history the interventional updater cannot condition on stops the naive one too (one message)
    notes = "" if "obs" not in t.undefined else (
        f'<p class="problem updater-undefined" role="alert">The naive (observational) updater cannot '
        f"condition on this history: {html.escape(str(t.undefined['obs']))}. The interventional column "
        f"still holds.</p>")
    out = (f'<div class="bars"><p>π(B | h<sub>0</sub>, c) = {_frac(t.policy, "policy")}: the threshold rule '
           f'(½) has the agent write <b>{t.decision}</b>. History: {gates}.</p>{notes}'
           f"<table><tr><th>hypothesis</th><th>prior w<sub>0</sub></th>"
           f"<th>interventional w<sub>{n}</sub> (do)</th><th>naive w<sub>{n}</sub> (obs)</th></tr>{rows}</table>"
           f"<table><tr><th>w(p_B)</th><th>interventional</th><th>naive</th></tr>{steps}</table></div>")
    return out, t.latex()


def _two_action_page(pn: Any, handout: bool = False) -> Any:
    inputs = {name: pn.widgets.TextInput(label=name, value=text, width=110, disabled=handout,
                                         css_classes=[f"field-{name.replace('(', '-').replace(')', '')}"])
              for name, text in DEFAULT_FIELDS.items()}
    gates, values = [], []
    for i, (value, gate) in enumerate(DEFAULT_SLOTS, start=1):
        gates.append(pn.widgets.RadioButtonGroup(label=f"slot {i}: who wrote it",
                                                 options={"agent (γ=1, do)": 1, "world (γ=0, evidence)": 0},
                                                 value=int(gate), css_classes=[f"gate-{i}"]))
        values.append(pn.widgets.RadioButtonGroup(label=f"slot {i}: symbol", options=["A", "B"], value=value,
                                                  css_classes=[f"value-{i}"]))

    def show(*args: Any) -> Any:
        k = len(inputs)
        fields = dict(zip(inputs, args[:k]))
        g, v = args[k:k + len(gates)], args[k + len(gates):]
        body, tex = _two_action_html(fields, list(zip(v, g)))
        latex = pn.pane.LaTeX(f"$${tex}$$", renderer="katex", styles={"font-size": "15px"}) if tex else ""
        return pn.Column(pn.pane.HTML(body, stylesheets=[_CSS], css_classes=["two-action-result"]), latex)

    slots = pn.Column(*[pn.Row(pn.pane.Markdown(f"**slot {i + 1}**", width=60), values[i], gates[i])
                        for i in range(len(gates))])
    intro = pn.pane.Markdown(
        "### §4: the agent's own action is an intervention\n"
        "Edit the prior and the kernels (exact: `7/20` or `0.35`), and flip who wrote each slot. "
        "The interventional updater skips the agent's slots; the naive one counts them as evidence.")
    return pn.Column(intro,
                     pn.Row(*[inputs[n] for n in ("w0(p_B)", "w0(p_A)")], name="prior"),
                     pn.Row(*[inputs[n] for n in list(inputs)[2:]]),
                     slots,
                     pn.bind(show, *inputs.values(), *gates, *values),
                     name="§4 two actions")


# ---------------------------------------------------------------------------------------------
# Page 2: seeing vs doing
# ---------------------------------------------------------------------------------------------

def _layers(names: tuple[str, ...], parents: Mapping[str, tuple[str, ...]]) -> dict[str, int]:
    depth: dict[str, int] = {}
    for n in names:  # names are in topological order
        depth[n] = 1 + max((depth[p] for p in parents[n]), default=-1)
    return depth


def _graph_svg(lesson: Any) -> str:
    """The SCM's graph: the cause shaded (seen) or boxed (set), cut edges dashed red with a ✂."""
    m = lesson.model
    parents = {n: m.parents(n) for n in m.names}
    depth = _layers(m.names, parents)
    col: dict[int, list[str]] = {}
    for n in m.names:
        col.setdefault(depth[n], []).append(n)
    # a node that an edge jumps over drops one row, so the longer edge stays visible
    jumped = {n for p, c in lesson.edges for n in m.names if depth[p] < depth[n] < depth[c]}
    pos = {n: (80 + 170 * d, 50 + 80 * (i + (n in jumped))) for d, ns in col.items() for i, n in enumerate(ns)}
    cut = set(lesson.cut_edges)
    parts = ['<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#444"/></marker>']
    for p, c in lesson.edges:
        (x1, y1), (x2, y2) = pos[p], pos[c]
        d = math.hypot(x2 - x1, y2 - y1)
        ux, uy = (x2 - x1) / d, (y2 - y1) / d
        a, b = (x1 + 48 * ux, y1 + 22 * uy), (x2 - 48 * ux, y2 - 22 * uy)
        if (p, c) in cut:
            parts.append(f'<line class="cut-edge" x1="{a[0]:.0f}" y1="{a[1]:.0f}" x2="{b[0]:.0f}" y2="{b[1]:.0f}" '
                         f'stroke="#d62728" stroke-width="2" stroke-dasharray="6,5"/>'
                         f'<text x="{(a[0] + b[0]) / 2 - 8:.0f}" y="{(a[1] + b[1]) / 2 - 6:.0f}" font-size="18" '
                         f'fill="#d62728">✂</text>')
        else:
            parts.append(f'<line class="edge" x1="{a[0]:.0f}" y1="{a[1]:.0f}" x2="{b[0]:.0f}" y2="{b[1]:.0f}" '
                         f'stroke="#444" stroke-width="2" marker-end="url(#arrow)"/>')
    for n, (x, y) in pos.items():
        fill = "#fff"
        if n == lesson.cause:
            fill = "#ffd27f" if lesson.mode == "do" else "#c6dbef"
        shape = (f'<rect x="{x - 48}" y="{y - 20}" width="96" height="40" rx="4"' if n == lesson.cause and lesson.mode == "do"
                 else f'<ellipse cx="{x}" cy="{y}" rx="48" ry="22"')
        parts.append(f'{shape} fill="{fill}" stroke="#333" stroke-width="2"/>'
                     f'<text x="{x}" y="{y + 5}" text-anchor="middle" font-size="14" font-family="sans-serif">{n}</text>')
    width = 160 + 170 * max(depth.values())
    height = 40 + max(y for _, y in pos.values()) + 30
    return f'<svg class="scm-graph" width="{width}" height="{height}">{"".join(parts)}</svg>'


def _see_do_html(model: str, mode: str, cause: str | None, value: Hashable, effect: str | None, p_sun: Any) -> str:
    if not {cause, effect} <= set(_NAMES[model]):  # the model switched before its menus did
        cause, effect = SCM_DEFAULTS[model]
    try:
        s = see_do_lesson(model, mode=mode, cause=cause, value=value, effect=effect, p_sun=p_sun)
    except BayesAgentError as exc:
        return _problems(exc)
    bar = "do" if mode == "do" else "obs"
    cond = f"do({cause} = {value})" if mode == "do" else f"{cause} = {value}"
    other = f"{cause} = {value}" if mode == "do" else f"do({cause} = {value})"
    rows = "".join(f"<tr><td>P({effect} = {y} | {cond})</td><td>{_frac(p, f'p-{y}')}</td><td>{_bar(p, bar)}</td>"
                   f"<td><small>vs. P({effect} = {y} | {other}) = {s.other[y]}</small></td></tr>"
                   for y, p in s.distribution.items())
    if not s.model.parents(cause):  # a root: no edge to cut, nothing to send back up
        how = (f"<b>{'Doing' if mode == 'do' else 'Seeing'}</b>: <i>{cause}</i> has no parents, so "
               f"{'nothing is cut' if mode == 'do' else 'there is nothing upstream for the evidence to inform'}"
               f"; seeing and doing agree here (the two columns are equal).")
    elif mode == "do":
        how = (f"<b>Doing</b>: the mechanism of <i>{cause}</i> is replaced by a point mass; the dashed red "
               f"edges into it are cut, so nothing flows back to its causes.")
    else:
        how = f"<b>Seeing</b>: {cause} is evidence; Bayes' rule sends its information back up every edge."
    return (f'<div class="bars">{_graph_svg(s)}<p>{how}</p><table>{rows}</table></div>')


_NAMES = {m: see_do_lesson(m).model.names for m in SCM_DEFAULTS}


def _see_do_page(pn: Any, handout: bool = False) -> Any:
    model = pn.widgets.RadioButtonGroup(label="model", options=list(SCM_DEFAULTS), value="fire engine",
                                        css_classes=["scm-model"])
    mode = pn.widgets.RadioButtonGroup(label="question", options={"see X = x": "see", "do(X = x)": "do"},
                                       value="see", css_classes=["see-do"])
    cause = pn.widgets.Select(label="X", options=["fire", "report", "engine"], value="engine", width=140)
    value = pn.widgets.RadioButtonGroup(label="x", options={"True": True, "False": False}, value=True,
                                        css_classes=["cause-value"])
    effect = pn.widgets.Select(label="Y", options=["fire", "report", "engine"], value="fire", width=140)
    climate = pn.widgets.DiscreteSlider(label="climate: P(sun)", options=dict(CLIMATES), value=CLIMATES["mixed"],
                                        visible=False, css_classes=["climate"])

    def switch(event: Any) -> None:
        names = list(_NAMES[event.new])
        x, y = SCM_DEFAULTS[event.new]
        cause.param.update(options=names, value=x)
        effect.param.update(options=names, value=y)
        climate.visible = event.new == "ice cream"

    if handout:  # each model's own question only, and the climate always shown: fewer states to embed
        cause, effect, climate.visible = None, None, True
        climate.label = "climate (ice cream only): P(sun)"
    else:
        model.param.watch(switch, "value")
    out = pn.bind(lambda *a: pn.pane.HTML(_see_do_html(*a), stylesheets=[_CSS], css_classes=["see-do-result"]),
                  model, mode, cause, value, effect, climate)
    intro = pn.pane.Markdown(
        "### Seeing vs doing (§2.1)\nThe same variable, observed or set. The fire engine: records "
        "say an engine means a fire; sending one does not start one. The ice cream model: sun "
        "drives shorts and ice cream; its climate slider moves P(sun).")
    return pn.Column(intro, pn.Row(model, mode), pn.Row(*[w for w in (cause, value, effect) if w]), climate, out,
                     name="seeing vs doing")


# ---------------------------------------------------------------------------------------------
# Page 3: the delusion simulator
# ---------------------------------------------------------------------------------------------

def _delusion_svg(tr: Any, t: int, lock: int | None) -> str:
    n = len(tr.history)
    w, h, left, top = 720, 220, 50, 15
    x = lambda i: left + (w - left - 10) * i / max(n, 1)  # noqa: E731
    y = lambda p: top + (h - top - 30) * (1 - float(p))  # noqa: E731
    parts = [f'<line x1="{left}" y1="{y(0)}" x2="{w - 10}" y2="{y(0)}" stroke="#999"/>',
             f'<line x1="{left}" y1="{y(1)}" x2="{left}" y2="{y(0)}" stroke="#999"/>',
             f'<text x="5" y="{y(1) + 5}" font-size="12">1</text><text x="5" y="{y(0) + 5}" font-size="12">0</text>',
             f'<text x="{left}" y="{h - 5}" font-size="12">slots t (w_t of the truth, p_B)</text>',
             f'<text x="{w - 250}" y="{h - 5}" font-size="12" fill="#1f77b4">━ interventional</text>'
             f'<text x="{w - 130}" y="{h - 5}" font-size="12" fill="#d62728">━ naive</text>']
    for i, slot in enumerate(tr.history.slots[:t]):
        if slot.gate is Gate.AGENT:
            parts.append(f'<rect x="{x(i):.1f}" y="{top}" width="{x(i + 1) - x(i):.1f}" height="{y(0) - top:.1f}" '
                         f'fill="#fff1cc"/>')
    for mode, colour in (("do", "#1f77b4"), ("obs", "#d62728")):
        pts = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(tr.truth_weight(mode)[:t + 1]))
        parts.append(f'<polyline class="trace-{mode}" points="{pts}" fill="none" stroke="{colour}" stroke-width="2.5"/>')
    if lock is not None and lock <= t:
        parts.append(f'<line class="lock" x1="{x(lock):.1f}" y1="{top}" x2="{x(lock):.1f}" y2="{y(0)}" '
                     f'stroke="#000" stroke-dasharray="4,3"/><text x="{x(lock) + 4:.1f}" y="{top + 60}" '
                     f'font-size="13">naive locks onto p_A here</text>')
    return f'<svg width="{w}" height="{h}">{"".join(parts)}</svg>'


def _delusion_html(actor: str, seed: int, steps: int, policy: str, t: int) -> str:
    try:
        seed = check_page_seed(seed)
        tr = delusion_lesson(actor=actor, seed=seed, steps=steps, policy=policy)
    except BayesAgentError as exc:
        return _problems(exc)
    t = max(0, min(t, len(tr.history)))
    lock = lock_moment(tr, "obs")
    strip = "".join(f'<span class="slot-{"agent" if s.gate is Gate.AGENT else "world"}" '
                    f'title="slot {i + 1}: {"agent" if s.gate is Gate.AGENT else "world"}">{s.value}</span>'
                    for i, s in enumerate(tr.history.slots[:t]))
    do, obs = tr.weights_do[t]["p_B"], tr.weights_obs[t]["p_B"]
    if lock is None:
        news = "In this run the naive updater does not lock onto the wrong program."
    elif t >= lock:
        news = (f"<b>At slot {lock} the naive updater locks onto the wrong program p_A</b> "
                f"(w(p_A) ≥ {LOCK_LEVEL} from there to the end); the interventional one does not.")
    else:
        news = f"Play on: at slot {lock} the naive updater will lock onto p_A."
    return (f'<div class="bars"><p>t = <span id="t">{t}</span> of {len(tr.history)} slots; the agent acts on the '
            f'{"naive" if Mode.of(actor) is Mode.OBSERVATIONAL else "interventional"} posterior.</p>'
            f'<p>w<sub>t</sub>(p_B): interventional <span id="delusion-do">{float(do):.4f}</span> {_bar(do, "do")} '
            f'&nbsp; naive <span id="delusion-obs">{float(obs):.4f}</span> {_bar(obs, "obs")}</p>'
            f'{_delusion_svg(tr, t, lock)}<p>Slots so far (agent shaded yellow, world blue):</p>'
            f'<div class="strip">{strip}</div><p class="lock-news">{news}</p></div>')


def _delusion_page(pn: Any, handout: bool = False) -> Any:
    actor = pn.widgets.RadioButtonGroup(label="the agent acts on", value="obs",
                                        options={"naive posterior": "obs", "interventional posterior": "do"})
    policy = pn.widgets.RadioButtonGroup(label="policy", options=["threshold", "sample"], value="threshold")
    # no bounds on the box itself: Bokeh would silently put back a seed out of range, and the box
    # could then show one seed while the strip ran another; check_page_seed names the field and range
    seed = pn.widgets.IntInput(label=f"seed ({SEED_RANGE[0]} to {SEED_RANGE[1]:,})", value=6, width=140,
                               css_classes=["seed"])
    steps = pn.widgets.IntSlider(label="slots", start=10, end=60, value=40, width=240)
    player = pn.widgets.Player(label="t", start=0, end=40, value=0, interval=300, width=420, loop_policy="once",
                               css_classes=["player"])
    steps.link(player, value="end")
    if handout:  # one run, two actors, every t: the states a static page can carry
        policy, seed, steps = "threshold", 6, 40
    out = pn.bind(lambda *a: pn.pane.HTML(_delusion_html(*a), stylesheets=[_CSS], css_classes=["delusion-result"]),
                  actor, seed, steps, policy, player)
    intro = pn.pane.Markdown(
        "### The delusion simulator\nThe §4 mixture acts against the world p_B, agent and world "
        "slots alternating. Step or play through one run; both updaters see the same slots.")
    knobs = [pn.Row(actor)] if handout else [pn.Row(actor, policy), pn.Row(seed, steps)]
    return pn.Column(intro, *knobs, player, out, name="delusion simulator")


#: The pages in order: (file name of the handout page, builder).
PAGES = {"two_action": _two_action_page, "seeing_vs_doing": _see_do_page, "delusion": _delusion_page}


def build_app() -> Any:
    """The three pages as Panel tabs (raises ImportError when Panel is not installed)."""
    import panel as pn

    pn.extension("katex", sizing_mode="stretch_width")
    return pn.Tabs(*[page(pn) for page in PAGES.values()], dynamic=False, css_classes=["lecture-tabs"])


def build_handout_page(name: str) -> Any:
    """One page for the static handout: typed fields fixed at the paper's values, toggles kept."""
    import panel as pn

    pn.extension("katex", sizing_mode="stretch_width")
    return PAGES[name](pn, handout=True)
