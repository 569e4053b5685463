"""The lecture app in a real browser: headless Chromium (the system's) driven by Playwright.

Skipped, with the reason printed, where Panel, Playwright or Chromium cannot be had. Screenshots
go to pytest's tmp directory (``LECTURE_SCREENSHOTS=DIR`` copies them there, e.g. docs/figures).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from bayes_agent.lecture import delusion_lesson, lock_moment
from bayes_agent import CLIMATES, Mode, Transcript, derive_fire_engine, ice_cream_model, two_action_mixture

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("LECTURE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialling out, and a closed network refuses it.
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parents[2]


def _why_not() -> str | None:
    for module, what in (("panel", "the lecture extra (Panel)"), ("playwright", "Playwright for Python")):
        try:
            __import__(module)
        except ImportError:
            return f"{what} is not installed (pip install 'bayes-agent[lecture,test]')"
    if not os.path.exists(CHROMIUM):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set LECTURE_CHROMIUM)"
    return None


@pytest.fixture(scope="module")
def app_url():
    why = _why_not()
    if why:
        pytest.skip(why)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "bayes_agent", "lecture", "--no-browser"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert "serving http://127.0.0.1:" in line, line + (proc.stdout.read() if proc.poll() is not None else "")
        yield line.split("serving ")[1].split()[0]
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    why = _why_not()
    if why:
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        except Exception as exc:  # a browser that will not start is an environment problem, not ours
            pytest.skip(f"Chromium at {CHROMIUM} did not start: {str(exc).splitlines()[0]}")
        yield b
        b.close()


@pytest.fixture
def page(browser, app_url, tmp_path_factory):
    pg = browser.new_page(viewport={"width": 1200, "height": 1000})
    pg.set_default_timeout(10_000)
    pg.goto(app_url)
    pg.locator("#w-do-p_B").wait_for(timeout=30_000)
    yield pg
    pg.close()


def shot(page, name: str, tmp_path: Path) -> Path:
    path = tmp_path / f"lecture_{name}.png"
    page.screenshot(path=str(path))
    copy = os.environ.get("LECTURE_SCREENSHOTS")
    if copy:
        shutil.copy(path, Path(copy) / path.name)
    return path


def text(page, selector: str, expected: str) -> str:
    """The text at ``selector`` once it equals ``expected`` (or whatever it shows after 10 s)."""
    from playwright.sync_api import expect

    loc = page.locator(selector)
    try:
        expect(loc).to_have_text(expected, timeout=10_000)
    except AssertionError:
        return loc.inner_text() if loc.count() == 1 else f"{loc.count()} elements at {selector}"
    return expected


def test_paper_numbers_and_gate_toggle(page, tmp_path):
    assert text(page, "#policy", "69/200") == "69/200"
    assert text(page, "#w1-obs-p_B", "14/131") == "14/131"
    assert text(page, "#w-do-p_B", "56/69") == "56/69"
    assert text(page, "#w-obs-p_B", "112/229") == "112/229"
    shot(page, "two_action", tmp_path)
    # slot 1 written by the world: A is now evidence for both updaters
    page.locator(".gate-1").get_by_text("world").click()
    assert text(page, "#w-do-p_B", "112/229") == "112/229"
    assert text(page, "#w-obs-p_B", "112/229") == "112/229"
    # and slot 2 by the agent as well: nothing is evidence for the interventional updater
    page.locator(".gate-1").get_by_text("agent").click()
    page.locator(".gate-2").get_by_text("agent").click()
    assert text(page, "#w-do-p_B", "7/20") == "7/20"


def test_prior_edit_matches_engine_and_bad_input_is_named(page, tmp_path):
    page.locator(".field-w0-p_B input").fill("1/2")
    page.locator(".field-w0-p_B input").press("Enter")
    from playwright.sync_api import expect

    problem = page.locator(".two-action-result .problem")
    expect(problem).to_contain_text("prior: w0(p_B) + w0(p_A) = 23/20, not 1")
    shot(page, "bad_input", tmp_path)
    page.locator(".field-w0-p_A input").fill("1/2")
    page.locator(".field-w0-p_A input").press("Enter")
    m = two_action_mixture({"p_B": Fraction(1, 2), "p_A": Fraction(1, 2)})
    h = Transcript(context="c").agent("A").world("B", channel="action")
    expected = m.posterior(h, Mode.INTERVENTIONAL)["p_B"]
    assert text(page, "#w-do-p_B", str(expected)) == str(expected) == "8/9"
    page.locator(".field-nu_p_A-A input").fill("2")
    page.locator(".field-nu_p_A-A input").press("Enter")
    expect(problem).to_contain_text("nu_p_A(A): 2 is not a probability")
    expect(problem).not_to_contain_text("Traceback")


def test_see_and_do_on_the_fire_engine_and_ice_cream(page, tmp_path):
    page.locator(".bk-tab").get_by_text("seeing vs doing").click()
    d = derive_fire_engine()
    assert text(page, "#p-True", str(d.observational)) == "19/20"
    assert page.locator(".cut-edge").count() == 0
    shot(page, "see", tmp_path)
    page.locator(".see-do").get_by_text("do(X = x)").click()
    assert text(page, "#p-True", str(d.interventional)) == "1/1000"
    assert page.locator(".cut-edge").count() == 1
    shot(page, "do", tmp_path)
    from playwright.sync_api import expect

    expect(page.locator(".bk-Slider.climate")).to_be_hidden()   # the climate belongs to the ice-cream model
    page.locator(".scm-model").get_by_text("ice cream").click()
    ice = ice_cream_model(CLIMATES["mixed"])
    done = str(ice.probability({"ice_cream": True}, do={"shorts": True}))
    seen = str(ice.probability({"ice_cream": True}, given={"shorts": True}))
    assert text(page, "#p-True", done) == done == "7/20"
    expect(page.locator(".bk-Slider.climate")).to_be_visible()
    page.locator(".see-do").get_by_text("see X = x").click()
    assert text(page, "#p-True", seen) == seen != done
    shot(page, "ice_cream", tmp_path)


def test_delusion_simulator_steps_to_the_lock(page, tmp_path):
    page.locator(".bk-tab").get_by_text("delusion simulator").click()
    page.locator(".delusion-result .lock-news").wait_for(timeout=10_000)
    assert text(page, "#t", "0") == "0"
    for _ in range(8):
        page.locator(".player button.next").click()
    assert text(page, "#t", "8") == "8"
    from playwright.sync_api import expect

    lock = lock_moment(delusion_lesson())
    assert lock == 7  # seed 6 of the default run locks early, so eight steps reach it
    expect(page.locator(".lock-news")).to_contain_text(f"At slot {lock} the naive updater locks onto the wrong program p_A")
    assert page.locator("line.lock").count() == 1
    page.locator(".player button.last").click()
    assert text(page, "#t", "40") == "40"
    shot(page, "delusion", tmp_path)


def test_the_handout_toggles_offline(browser, tmp_path):
    from playwright.sync_api import expect

    from bayes_agent.lecture import export_handout

    index, page_file = export_handout(tmp_path, pages=["two_action"])
    assert 'href="two_action.html"' in index.read_text()
    pg = browser.new_page(viewport={"width": 1200, "height": 1000})
    pg.set_default_timeout(10_000)
    try:
        pg.goto(page_file.as_uri())
        assert text(pg, "#w-do-p_B", "56/69") == "56/69"
        pg.locator(".gate-1").get_by_text("world").click()   # a state recorded in the file, no server
        assert text(pg, "#w-do-p_B", "112/229") == "112/229"
        expect(pg.locator(".field-w0-p_B input")).to_be_disabled()
        shot(pg, "handout", tmp_path)
    finally:
        pg.close()


def test_the_handout_player_reaches_the_last_slot(browser, tmp_path):
    """Every t the live player shows, 0..40, is in the handout: "last" lands on t = 40 with the
    lock message, and no page error is raised on the way (Panel's Player records end - 1 only)."""
    from playwright.sync_api import expect

    from bayes_agent.lecture import export_handout

    _, page_file = export_handout(tmp_path, pages=["delusion"])
    pg = browser.new_page(viewport={"width": 1200, "height": 1000})
    pg.set_default_timeout(10_000)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        pg.goto(page_file.as_uri())
        assert text(pg, "#t", "0") == "0"
        pg.locator(".player button.last").click()
        assert text(pg, "#t", "40") == "40"
        expect(pg.locator(".lock-news")).to_contain_text("the naive updater locks onto the wrong program p_A")
        pg.locator(".player button.previous").click()
        assert text(pg, "#t", "39") == "39"
        assert errors == []
    finally:
        pg.close()


def test_a_seed_out_of_range_is_named_and_the_box_keeps_what_was_typed(page):
    """The box has no bounds of its own (Bokeh put an out-of-range seed back silently, once
    showing 10000000 beside seed 0's run): the page names the field and the range instead."""
    from playwright.sync_api import expect

    page.locator(".bk-tab").get_by_text("delusion simulator").click()
    box = page.locator(".seed input")
    result = page.locator(".delusion-result")
    for typed in ("-1", "10000000"):
        box.fill(typed)
        box.press("Enter")
        expect(result).to_contain_text(f"seed: {typed} is not a whole number from 0 to 1,000,000")
        expect(box).to_have_value(typed)
        assert page.locator(".delusion-result .strip").count() == 0
    box.fill("6")
    box.press("Enter")
    page.locator(".delusion-result .lock-news").wait_for()
    expect(box).to_have_value("6")
