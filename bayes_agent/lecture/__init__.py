"""The interactive lecture (optional extra ``lecture``): the do-operator on three live pages.

§4's two-action example with editable rationals and gates, seeing vs doing on the fire-engine
and ice-cream models, and the delusion simulator step by step. :mod:`.lessons` computes what
each page shows through the public engine API (no UI library); :mod:`.app` lays it out with
Panel, imported only when the app is built or served, so ``import bayes_agent`` stays light.
"""

from .lessons import (DEFAULT_FIELDS, DEFAULT_SLOTS, LOCK_LEVEL, SEED_RANGE, FieldProblem, SeeDoLesson,
                      TwoActionLesson, check_page_seed, delusion_lesson, lock_moment, parse_probability, see_do_lesson, two_action_lesson)
from .serve import check_port, export_handout, free_port, serve

__all__ = sorted([
    "DEFAULT_FIELDS", "DEFAULT_SLOTS", "FieldProblem", "LOCK_LEVEL", "SEED_RANGE", "SeeDoLesson", "TwoActionLesson",
    "check_port", "check_page_seed", "delusion_lesson", "export_handout", "free_port", "lock_moment", "parse_probability",
    "see_do_lesson", "serve", "two_action_lesson",
])
