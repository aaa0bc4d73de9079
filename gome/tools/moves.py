"""Moves: edits of a script's model call (and of its features or its predictions) that the harness can name and make exactly.

A small model turns "try a different model family" or "tune the hyperparameters" into no change, or into
the change it tried before. A move is concrete: the call in the script and the call to write instead,
either a swap to a stronger family from the catalogue (messages.yaml: `move_classifiers`,
`move_regressors`) or new values for a few arguments of the current call; tunes that tied with a positive
gain are offered again together, since gains too small for the noise test alone may pass it together.
Two moves change the text of another function instead: ratios of the numeric columns, added in the starter's
features(), and, for a kappa metric, the expected grade in place of the most probable one, in the starter's predict().
Each move says which way it moves the model's capacity (more, less, neither): the gradient's sign, read
from the script's train_score against its validation score, puts the tunes that way before the others. The Diagnostician
is offered the moves no attempt has tried yet; a plan that names one (or asks for a model change without
naming one) carries it, and where the Coder's reply does not make the edit, gome makes it. Read from the
code, never run.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Sequence
from typing import Any, Literal

from gome.schema import Capacity, Move
from gome.tools.estimators import literal, model_calls, model_defaults
from gome.tools.hints import MODEL_PACKAGES, find_module_of, model_import

__all__ = ["offer", "member", "carried_out", "apply_move", "pick", "asks_for_model_change", "only_the_model", "carries_all",
           "RATIOS", "EXPECTED"]

_BOOSTED = re.compile(r"Boost|LGBM|XGB|CatBoost")
_FORESTS = re.compile(r"Forest|ExtraTrees")
_LINEAR = re.compile(r"Linear|Logistic|Ridge|Lasso|ElasticNet|SGD|Perceptron")
_WRAPPERS = re.compile(r"Pipeline|Voting|Stacking|SearchCV|TransformedTarget|MultiOutput|OneVsRest|Calibrated")
# a plan about the model: these words, or a model class named in it (CamelCase: "HistGradientBoostingClassifier")
_MODEL_WORDS = re.compile(r"\b(model|algorithm|famil|hyper|tun|estimator|tree|forest|regulari[sz]|learning.rate|"
                          r"lightgbm|xgboost|ensemble)|classifier|regressor|boost", re.IGNORECASE)
# words of a plan that changes more than the model: its data, features or preprocessing
_DATA_WORDS = re.compile(r"\b(feature|encod|imput|scal|normali[sz]|column|ratio|transform|drop|select|preprocess|"
                         r"clean|outlier|interaction|aggregat|missing|text|date|sampl|weight)", re.IGNORECASE)


def _strength(name: str) -> int:
    return 2 if _BOOSTED.search(name) else 1 if _FORESTS.search(name) else 0


def _main_call(tree: ast.Module) -> tuple[ast.Call, str, dict[str, object]] | None:
    """The model call of make_model() (the first one), else the script's first model call; a wrapper (a
    pipeline, a search, a voting ensemble) is passed over for the model inside it."""
    calls = [c for c in model_calls(tree) if not _WRAPPERS.search(c[1])]
    make = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "make_model"), None)
    if make is not None:
        inside = [c for c in calls if make.lineno <= c[0].lineno <= (make.end_lineno or make.lineno)]
        calls = inside or calls
    return calls[0] if calls else None


def _with(call: ast.Call, values: dict[str, Any]) -> str:
    """The call's source with these keyword values set (replaced or added)."""
    keywords = [ast.keyword(arg=k.arg, value=ast.Constant(values[k.arg])) if k.arg in values else k for k in call.keywords]
    keywords += [ast.keyword(arg=k, value=ast.Constant(v)) for k, v in values.items() if k not in {kw.arg for kw in call.keywords}]
    return ast.unparse(ast.Call(func=call.func, args=call.args, keywords=keywords))


Effect = Literal["more", "less", ""]

# The one move of the data: the ratio of every pair of the starter's first 7 numeric columns, in its features()
# (/tmp experiments, 5-fold or 3-fold, HistGradientBoosting: diamonds-cut +0.012 QWK, the same on every fold;
# hpc-jobs no change; lending-club -0.014 AUC and ames-prices -0.002 rmsle, which the noise test rejects).
_RATIOS_MARK = "# ratios of the numeric columns"
_FEATURES_AT = '    keep = list(both.select_dtypes("number").columns) + few\n'
RATIOS = Move(key="features(): ratios of the numeric columns", old=_FEATURES_AT, new=(
    f'    numeric = list(both.select_dtypes("number").columns)[:7]  {_RATIOS_MARK}\n'
    "    for i, a in enumerate(numeric):\n"
    "        for b in numeric[i + 1:]:\n"
    '            both[f"{a}_per_{b}"] = both[a] / both[b].replace(0, np.nan)\n' + _FEATURES_AT),
    about="add the ratio of every pair of the first 7 numeric columns as new columns")
# The one move of the predictions, for quadratic weighted kappa, which counts how far off a grade is: the class
# labels weighted by their probabilities, rounded, instead of the most probable label (/tmp experiments on
# diamonds-cut, 5-fold: +0.005 to +0.012 QWK on every fold with HistGradientBoosting and LightGBM, with and without
# the ratios; +0.007 and +0.010 on its test set; a random forest +0.003, not on every fold)
_EXPECTED_MARK = "# the expected grade"
_PREDICT_LABEL = "def predict(model, X):\n    return model.predict(X)\n"
EXPECTED = Move(key="predict(): the expected grade", old=_PREDICT_LABEL, new=(
    f"def predict(model, X):  {_EXPECTED_MARK}: the classes weighted by their probabilities, rounded\n"
    "    grades = np.asarray(model.classes_, dtype=float)\n"
    "    return np.rint(model.predict_proba(X) @ grades).astype(int)\n"),
    about="return the expected grade (the class labels weighted by their predicted probabilities, rounded) "
          "instead of the most probable one")
_TEXT_MARKS = {RATIOS.key: _RATIOS_MARK, EXPECTED.key: _EXPECTED_MARK}  # by which a script that has the move is known
# (argument, value it has, value to try, which way that moves the model's capacity): regularisation first, as
# before the capacity rules (added last, so a diagnosis that cannot tell keeps the first four moves it had)
_RULES: list[tuple[str, object, object, Effect]] = [
    ("min_samples_leaf", 1, 3, "less"), ("min_samples_leaf", 20, 40, "less"), ("max_features", "sqrt", 0.5, "more"),
    ("max_features", 1.0, 0.5, "less"), ("num_leaves", 31, 15, "less"), ("max_leaf_nodes", 31, 15, "less"),
    ("l2_regularization", 0.0, 1.0, "less"), ("reg_lambda", 0.0, 1.0, "less"), ("colsample_bytree", 1.0, 0.7, "less"),
    ("subsample", 1.0, 0.8, "less"), ("C", 1.0, 0.1, "less"), ("alpha", 1.0, 10.0, "less"), ("n_neighbors", 5, 15, "less"),
    ("min_samples_leaf", 20, 5, "more"), ("num_leaves", 31, 63, "more"), ("max_leaf_nodes", 31, 63, "more"),
    ("max_depth", 3, 6, "more"), ("C", 1.0, 10.0, "more"), ("alpha", 1.0, 0.1, "more"), ("n_neighbors", 5, 3, "more"),
]


def _tunes(name: str, kwargs: dict[str, object], defaults: dict[str, object]) -> list[tuple[dict[str, Any], Effect]]:
    """New values for a few arguments that matter, as rules of thumb, with which way each moves the model's
    capacity: slower learning with more rounds for boosting, more trees for forests (neither way), then
    regularisation, then more capacity."""
    def value(param: str) -> object:
        return kwargs.get(param, defaults.get(param, "missing"))

    boosted, out = bool(_BOOSTED.search(name)), list[tuple[dict[str, Any], Effect]]()
    rounds = next((p for p in ("n_estimators", "max_iter") if p in defaults and (boosted or p == "n_estimators")), None)
    rate, count = value("learning_rate"), value(rounds) if rounds else None
    if boosted and rounds and isinstance(count, int) and isinstance(rate, float) and rate > 0.012:
        out.append(({"learning_rate": round(rate / 2, 4), rounds: min(2 * count, 2000)}, ""))
    elif rounds and isinstance(count, int) and 1 < count < 1000 and not boosted:
        out.append(({rounds: 3 * count}, ""))
    for param, has, new, effect in _RULES:
        now = value(param)
        pointless = (param == "max_features" and not _FORESTS.search(name)) or (param == "subsample" and boosted and "LGBM" in name)
        if param in defaults and type(now) is type(has) and now == has and not pointless:  # LightGBM subsamples only with a frequency
            out.append(({param: new}, effect))
    return out


def _names_called(source: str) -> list[str]:
    """The names a call's source calls, itself first (a pipeline's: make_pipeline, then its steps)."""
    return list(dict.fromkeys(n.func.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)))


@functools.cache
def _family(source: str) -> str:
    """The model class a call builds: its own class, or the last model class called inside it, as a pipeline's
    (`make_pipeline(StandardScaler(), LogisticRegression())`: LogisticRegression); the called name otherwise."""
    names = _names_called(source)
    models = [n for n in names if any((m := find_module_of(n, p)) and model_defaults(m, n) is not None for p in MODEL_PACKAGES)]
    return models[-1] if models else names[0]


def _catalogue(entries: list[str]) -> list[tuple[str, str]]:
    """(model class, call source) of the catalogue's calls whose classes are installed."""
    found = []
    for entry in entries:
        try:
            call = ast.parse(entry.strip()).body[0].value  # type: ignore[attr-defined]
        except (SyntaxError, IndexError, AttributeError):
            continue
        called = _names_called(entry.strip()) if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) else []
        if called and all(any(find_module_of(name, p) for p in MODEL_PACKAGES) for name in called):
            found.append((_family(ast.unparse(call)), ast.unparse(call)))
    return found


def _built(codes: list[str]) -> list[tuple[str, dict[str, object]]]:
    """(class, its literal keyword values) of every model call these scripts built."""
    out = []
    for code in codes:
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue
        for node, name, _ in model_calls(tree):
            out.append((name, {k.arg: v[1] for k in node.keywords if k.arg and (v := literal(k.value))[0]}))
    return out


def _tried(move: Move, built: list[tuple[str, dict[str, object]]]) -> bool:
    """A swap is tried once any script built its class; a tune once one built its class with its values."""
    name, wanted = _target(move)
    swap = move.key.startswith("use ")
    return any(n == name and (swap or all(k in kw and kw[k] == v for k, v in wanted.items())) for n, kw in built)


def _target(move: Move) -> tuple[str, dict[str, object]]:
    """(the model class the move builds, the keyword values of its call)."""
    return _family(move.new), _called(move.new)[1]


def _changes(move: Move) -> dict[str, object]:
    """The keyword values a move sets that its call did not have."""
    before, after = _called(move.old)[1], _target(move)[1]
    return {k: v for k, v in after.items() if k not in before or before[k] != v}


def _called(source: str) -> tuple[str, dict[str, object]]:
    """(class, keyword values) of a call's source."""
    call = ast.parse(source).body[0].value  # type: ignore[attr-defined]
    return call.func.id, {k.arg: literal(k.value)[1] for k in call.keywords if k.arg}


def _combined(old: str, ties: Sequence[Move]) -> list[Move]:
    """One tune that sets the values of every tune of this call that tied with a positive gain (two or more):
    gains too small to pass the noise test alone may pass together."""
    tunes = [m for m in ties if m.old == old and not m.key.startswith("use ")]
    if len({m.key for m in tunes}) < 2:
        return []
    call = ast.parse(old).body[0].value  # type: ignore[attr-defined]
    name, changed = _target(tunes[0])[0], {}
    for move in tunes:
        changed.update(_changes(move))
    key = f"{name}: " + ", ".join(f"{k}={v!r}" for k, v in changed.items()) + " (together)"
    return [Move(key=key, old=old, new=_with(call, changed))]


def member(code: str, catalogue: list[str], tried_codes: list[str]) -> Move | None:
    """A swap of the script's model call to a family of the catalogue that no tried script built, for a blend
    member that makes other errors than the script: a family of another kind (boosting, forests) first."""
    try:
        main = _main_call(ast.parse(code))
    except SyntaxError:
        return None
    if main is None:
        return None
    call, name, _ = main
    built = {n for n, _ in _built(tried_codes)}
    swaps = [Move(key=f"use {other}", old=ast.unparse(call), new=source) for other, source in _catalogue(catalogue)
             if other != name and other not in built]
    swaps.sort(key=lambda m: _strength(_target(m)[0]) == _strength(name))  # stable: the catalogue's order among the rest
    return swaps[0] if swaps else None


def offer(code: str, catalogue: list[str], tried_codes: list[str], ties: Sequence[Move] = (), k: int = 4,
          capacity: Capacity = "unclear") -> list[Move]:
    """Up to k moves for a script, those the tried scripts already built left out: swaps to families of the
    catalogue stronger than the script's model and the text moves; once none is left, the tunes of its call (those
    that tied with a positive gain, together, first). With a diagnosed `capacity` (more, less), the tunes that change the model's
    capacity that way come before those that change it the other way (after the swaps and the tunes of
    neither way, slower learning or more trees, which were the better first tune in benchmarks/capacity_sign.py):
    the diagnosis sets the sign."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    main = _main_call(tree)
    if main is None:
        return []
    call, name, defaults = main
    old = ast.unparse(call)
    together = _combined(old, ties)
    # from a linear model: more capacity; from one tree or kNN: an ensemble's averaging, less variance; from a forest
    # to boosting: another model, not just more or less of it
    swap: Effect = "more" if _LINEAR.search(name) else "less" if _strength(name) == 0 else ""
    moves = [Move(key=f"use {other}", old=old, new=source, capacity=swap) for other, source in _catalogue(catalogue)
             if other != name and _strength(other) > _strength(name)]
    kwargs = {kw.arg: v for kw in call.keywords if kw.arg and (v := literal(kw.value))[0]}
    for values, effect in _tunes(name, {k: v[1] for k, v in kwargs.items()}, defaults):
        key = f"{name}: " + ", ".join(f"{k}={v!r}" for k, v in values.items())
        moves.append(Move(key=key, old=old, new=_with(call, values), capacity=effect))
    if capacity != "unclear":  # swaps and tunes of neither way first still (benchmarks/capacity_sign.py); stable
        moves.sort(key=lambda m: (not m.key.startswith("use "), 0 if not m.capacity else 1 if m.capacity == capacity else 2))
    built = _built(tried_codes)
    moves = [m for m in together + moves if not _tried(m, built)]
    at = max((i + 1 for i, m in enumerate(moves) if m.key.startswith("use ") or m.key.endswith("(together)")), default=0)
    texts = [m for m in (EXPECTED, RATIOS) if m.old in code and not any(_TEXT_MARKS[m.key] in c for c in [code, *tried_codes])]
    if not (name.endswith("Classifier") and 'weights="quadratic"' in code):  # the expected grade: a kappa metric's classifier
        texts = [m for m in texts if m is not EXPECTED]
    moves[at:at] = texts  # after the tied tunes together and the swaps, before the other tunes
    # the tunes wait until no swap or text move is left: in the 167 directed updates of the benchmark runs kept in
    # docs/bench (stops 22, 23 and 26; benchmarks/move_kinds.py) swaps were accepted 28 times in 45, the ratios 12 in 45,
    # tunes 3 in 77; yet the embedded model's diagnosis chose 20 of those tunes while a swap or the ratios were on offer
    structural = [m for m in moves if m.key.startswith("use ") or m.about]
    return (structural or moves)[:k]


def carried_out(code: str, move: Move) -> bool:
    """The script builds the move's class (with the move's values, for a tune), or has the text a text move writes."""
    return _TEXT_MARKS[move.key] in code if move.about else _tried(move, _built([code]))


def carries_all(text: str, move: Move) -> bool:
    """A plan's text asks for the move's change and nothing else (a text move: nothing about the model)."""
    return not asks_for_model_change(text) if move.about else only_the_model(text)


def apply_move(code: str, move: Move) -> str | None:
    """The script with the move made: the call `move.old` replaced by `move.new`, else its main model call;
    None when the script has no model call (or does not parse). A text move replaces `move.old` (the features
    move inserts its lines before that line of features()), where the script has it and not the move's text yet."""
    if move.about:
        return code.replace(move.old, move.new, 1) if move.old in code and not carried_out(code, move) else None
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    calls = [c for c in model_calls(tree) if ast.unparse(c[0]) == move.old] or [c for c in [_main_call(tree)] if c]
    if not calls:
        return None
    node = calls[0][0]
    lines = code.splitlines(keepends=True)
    start, end = node.lineno - 1, (node.end_lineno or node.lineno) - 1
    head, tail = lines[start][: node.col_offset], lines[end][node.end_col_offset:]
    lines[start: end + 1] = [head + move.new + tail]
    return "".join(_imports(tree, node, calls[0][1], _names_called(move.new), lines))


def _imports(tree: ast.Module, call: ast.Call, old: str, new: list[str], lines: list[str]) -> list[str]:
    """The lines with the imports of the function that makes the call brought up to date: the import of the
    replaced class, now unused, gives way to the imports of the names the new call calls (a pipeline's too), else
    those are added as the function's first statements (after its docstring) where the script does not import
    them yet. The lines above the function stay as they were, so the prompts that show the script keep their
    cached prefix, and no leftover import names a model the script no longer builds."""
    outer = next((f for f in tree.body if isinstance(f, ast.FunctionDef) and f.lineno <= call.lineno <= (f.end_lineno or f.lineno)), None)
    if outer is None or outer.body[0].lineno == outer.lineno:
        return lines  # not inside a function, or a one-liner: the Coder's fixes add a missing import at the top
    imported = {(a.asname or a.name) for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    wanted = [line for name in new if name not in imported and (line := model_import(name))]
    stale = [n.lineno - 1 for n in ast.walk(outer) if isinstance(n, ast.ImportFrom) and n.lineno == (n.end_lineno or n.lineno) < call.lineno
             and [(a.name, a.asname) for a in n.names] == [(old, None)]]
    if stale and old not in new and len(re.findall(rf"\b{re.escape(old)}\b", "".join(lines))) == 1:
        at = stale[0]
        indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
        return [*lines[:at], *(f"{indent}{line}\n" for line in wanted), *lines[at + 1:]]
    if not wanted:
        return lines
    body = outer.body
    docstring = isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str)
    at = (body[0].end_lineno or body[0].lineno) if docstring and len(body) > 1 else body[0].lineno - 1
    indent = " " * (body[1] if docstring and len(body) > 1 else body[0]).col_offset
    return [*lines[:at], *(f"{indent}{line}\n" for line in wanted), *lines[at:]]


def _aliases(move: Move) -> list[str]:
    """How a plan may name the move: the class or its family in words, or the arguments a tune sets; a text
    move, by what it makes."""
    if move.about:
        return ["ratio", "interaction", "feature engineering", "engineer", "new feature"] if move.key == RATIOS.key else \
            ["expected grade", "expected class", "expected value", "weighted by their probabilities", "probability-weighted"]
    name = _target(move)[0]
    if move.key.startswith("use "):
        stem = re.sub(r"(Classifier|Regressor)$", "", name)
        spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", stem).lower()
        return [name.lower(), stem.lower(), spaced] + (["lightgbm", "lgbm"] if name.startswith("LGBM") else [])
    return [alias for k in _changes(move) for alias in (k.lower(), k.replace("_", " ").lower())]  # not what the call had


_CALL = re.compile(r"\b\w+\([^()]*\)")


def _quoted_calls(text: str) -> tuple[str, list[tuple[int, str]]]:
    """The text with every call it quotes blanked out (positions kept), and those calls with their positions."""
    calls, words = [], text
    while found := list(_CALL.finditer(words)):
        calls += [(m.start(), m.group()) for m in found]
        words = _CALL.sub(lambda m: " " * len(m.group()), words)
    return words, calls


def _names_tune(move: Move, call: str) -> bool:
    """A call the text quotes is the tune's: its class, with the values the tune sets."""
    try:
        name, values = _called(call)
    except (SyntaxError, AttributeError, IndexError):
        return False
    return name == _target(move)[0] and all(values.get(k) == v for k, v in _changes(move).items())


def pick(text: str, moves: list[Move]) -> Move | None:
    """The move a plan's text names first, if any. A tune is named by the arguments it changes in the plan's
    own words, or by a quoted call of its class with its values; the arguments inside a call of another
    model (`LGBMClassifier(n_estimators=400, ...)`) belong to that call, not to the tune."""
    lowered, best = text.lower(), None
    words, quoted = _quoted_calls(text)
    words = words.lower()  # the same positions as `lowered`
    for move in moves:
        if move.key.startswith("use ") or move.about:
            hits = [lowered.find(alias) for alias in _aliases(move) if alias in lowered]
        else:
            hits = [words.find(alias) for alias in _aliases(move) if alias in words]
            hits += [at for at, call in quoted if _names_tune(move, call)]
        if hits and (best is None or min(hits) < best[0]):
            best = (min(hits), move)
    return best[1] if best else None


def asks_for_model_change(text: str) -> bool:
    """The plan is about the model (its family, its hyperparameters), not about features."""
    return bool(_MODEL_WORDS.search(text))


def only_the_model(text: str) -> bool:
    """The plan asks for a change of the model and nothing else: a move carries all of it."""
    return asks_for_model_change(text) and not _DATA_WORDS.search(text)
