"""The harness's own reasons to veto an attempt as leaky or overfit, beside the Diagnostician's flag:
paths outside the input folder in the script, a dev score far better than the score the script printed
for its own split, and a score the task's ladder calls implausible.

The path check reads the script's string literals (absolute paths, `..`, `~`): a heuristic that names
what it saw, not a proof; the sandbox is what keeps a script from reading private answers.
"""

from __future__ import annotations

import ast

from gome.schema import ExecutionReport

__all__ = ["harness_flags", "outside_paths", "supports_flag", "IMPLAUSIBLE", "SELF_GAP_NOISES", "SUPPORT_NOISES"]

IMPLAUSIBLE = 1.5  # normalised score (dummy 0, expert 1) beyond which a score is implausible
# The harness's dev score and the script's own validation score are two independent estimates, each with about
# the dev score's noise (the script's split is a fifth of what is left of train.csv), so their difference has
# sqrt(2) times that noise: gaps are counted in its standard errors. A gap of 3 to 3.5 dev-score noises is
# ordinary: two hpc-jobs drafts (the starter with a random forest, then with LightGBM) printed log losses of
# 0.551 and 0.568 for their own splits, 0.54 to 0.64 over four split seeds, against the harness's 0.456 and
# 0.435, and were both vetoed when gaps were counted in dev-score noises.
GAP_NOISE = 2 ** 0.5
SELF_GAP_NOISES = 4.0  # how many standard errors of the difference the harness's score may beat the script's own
# ... and beyond how many a Diagnostician's leak flag is backed (at 2 dev-score noises, a food-delivery draft
# 2.03 SE better than its own split was vetoed)
SUPPORT_NOISES = 3.0


def outside_paths(code: str) -> list[str]:
    """String literals of the script that name a path outside its working folder."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.strip()
            if (len(text) > 1 and text.startswith("/") and text != "/dev/null") or "../" in text or text.startswith("~"):
                found.append(text[:80])
    return list(dict.fromkeys(found))


def _better_by(a: float, b: float, lower_is_better: bool) -> float:
    return b - a if lower_is_better else a - b


def harness_flags(code: str, report: ExecutionReport, references: dict[str, float], lower_is_better: bool) -> list[str]:
    """One line per reason the harness has to distrust this attempt's score; [] when none."""
    flags = []
    paths = outside_paths(code)
    if paths:
        flags.append(f"the script names paths outside its input folder: {', '.join(paths[:3])}")
    ev, score = report.evidence, report.score
    if score is not None and ev is not None and ev.self_score is not None and ev.noise:
        gap = _better_by(score, ev.self_score, lower_is_better)
        if gap > SELF_GAP_NOISES * GAP_NOISE * ev.noise:
            flags.append(f"the harness's dev score {score:.4g} beats the script's own validation score "
                         f"{ev.self_score:.4g} by {gap:.3g}, more than {SELF_GAP_NOISES:g} standard errors of the difference")
    dummy, expert = references.get("dummy"), references.get("expert")
    if score is not None and dummy is not None and expert is not None and expert != dummy:
        normalised = (score - dummy) / (expert - dummy)
        if normalised > IMPLAUSIBLE:
            flags.append(f"the dev score {score:.4g} lies far beyond the task's expert level {expert:.4g} "
                         f"(normalised {normalised:.2f}): implausible without a leak")
    return flags


def supports_flag(report: ExecutionReport, references: dict[str, float], lower_is_better: bool) -> bool:
    """Whether the harness's evidence backs a leak/overfit flag of the model: the dev score beats the
    script's own validation score by more than three standard errors of the difference, or lies beyond the task's expert
    level; with neither a printed score nor a ladder to judge by, the flag stands. A small model flags
    ordinary drafts (its own validation being optimistic is no sign that the harness's score is)."""
    ev, score = report.evidence, report.score
    if score is None:
        return False
    own = ev.self_score if ev is not None else None
    dummy, expert = references.get("dummy"), references.get("expert")
    if own is None and (dummy is None or expert is None or expert == dummy):
        return True
    if own is not None and ev is not None and _better_by(score, own, lower_is_better) > SUPPORT_NOISES * GAP_NOISE * (ev.noise or 0.0):
        return True
    return dummy is not None and expert is not None and expert != dummy and (score - dummy) / (expert - dummy) > 1.0
