"""Function-level patches: a Coder reply that only redefines some functions of the parent script (plus the
imports they need) is merged into the parent, so a small model writes tens of lines instead of the whole
script. A whole script is used as it is, except that a top-level function or variable of the parent that
it still uses but dropped is put back. A reply that does not parse is used as it is, after `strip_echo` has cut
off the prompt text a small model copied after its script."""

from __future__ import annotations

import ast
import builtins
import re

__all__ = ["merge_functions", "top_level_functions", "summarize_code", "strip_echo", "syntax_error", "tail_stop",
           "ESTIMATOR_NAME"]

ESTIMATOR_NAME = re.compile(r"[A-Z]\w*(?:Classifier|Regressor|Regression|SVC|SVR|NB|Boost\w*|Forest\w*|Net\w*)")
_ESTIMATOR = re.compile(rf"\b({ESTIMATOR_NAME.pattern})\(")


def summarize_code(code: str) -> str:
    """A short description of a script: the estimators and encoders it calls."""
    names = list(dict.fromkeys(_ESTIMATOR.findall(code)))
    extras = [name for name in ("get_dummies", "OneHotEncoder", "OrdinalEncoder", "TfidfVectorizer") if name in code]
    return ", ".join(names + extras) or "a script without a recognisable estimator"

_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _is_partial(tree: ast.Module) -> bool:
    """Only imports, function or class definitions and docstrings: no statement that does the work."""
    body = [n for n in tree.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
    return bool(body) and all(isinstance(n, (ast.Import, ast.ImportFrom, *_DEFS)) for n in body) and any(
        isinstance(n, _DEFS) for n in body)


def syntax_error(code: str) -> str:
    """Why a script does not parse ('' when it does): the line, Python's message and the line's text."""
    try:
        ast.parse(code)
    except SyntaxError as exc:
        return f"line {exc.lineno}: {exc.msg}: {(exc.text or '').strip()[:120]}"
    return ""


def strip_echo(code: str, prompt: str) -> tuple[str, int]:
    """A script without the prompt text its model copied after it, and how many lines were cut. The embedded
    model ends some scripts with the prompt's last section (`# Plan`, the plan, "Apply the plan to the
    script."): 41 of the 42 syntax errors in the benchmark's runs. What is cut is the shortest tail made only of
    blank lines and lines of the prompt after which the script parses, with the comments and blank lines of the
    prompt just before it (the section's heading); a script that parses, or whose unparsable tail holds a line of
    its own, stays as it is."""
    if not syntax_error(code):
        return code, 0
    seen = {line.strip() for line in prompt.splitlines() if line.strip()}
    lines = code.splitlines()
    for k in range(len(lines) - 1, -1, -1):
        if lines[k].strip() and lines[k].strip() not in seen:
            return code, 0
        if k and not syntax_error("\n".join(lines[:k])):
            while k and (not lines[k - 1].strip() or lines[k - 1].strip() in seen and lines[k - 1].lstrip().startswith("#")):
                k -= 1  # the copied section's heading too
            return "\n".join(lines[:k]) + "\n", len(lines) - k
    return code, 0


def top_level_functions(code: str) -> list[str]:
    """Names of the functions a script defines at top level ([] when it does not parse)."""
    try:
        return [n.name for n in ast.parse(code).body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    except SyntaxError:
        return []


def tail_stop(code: str) -> str:
    """Where a reply that copies `code` may stop when only its imports and definitions are used: a newline and the
    first line of the first statement after the last top-level definition (the starter's validation split),
    where that text occurs once in `code`; "" otherwise."""
    try:
        body = ast.parse(code).body
    except SyntaxError:
        return ""
    last = max((i for i, n in enumerate(body) if isinstance(n, _DEFS)), default=None)
    if last is None or last + 1 == len(body):
        return ""
    line = code.splitlines()[body[last + 1].lineno - 1]
    return f"\n{line}" if line.strip() and code.count(f"\n{line}") == 1 else ""


def same_harness(code: str, other: str) -> bool:
    """Whether two scripts run the same code outside their imports and top-level definitions (a starter's reading,
    validation and submission code): then what one of them does differently is in its definitions."""
    try:
        bodies = [ast.parse(text).body for text in (code, other)]
    except SyntaxError:
        return False
    kept = [[ast.dump(n) for n in body if not isinstance(n, (ast.Import, ast.ImportFrom, *_DEFS))] for body in bodies]
    return kept[0] == kept[1]


def _first_code_line(lines: list[str]) -> int:
    return next((n.lineno - 1 for n in ast.parse("\n".join(lines)).body if not isinstance(n, (ast.Import, ast.ImportFrom))), 0)


def _names(node: ast.AST, *, loads: bool = True, into_defs: bool = True) -> set[str]:
    """Names `node` reads (or binds: definitions, imports, assignments, arguments, loop variables); without
    `into_defs`, only at module level, function and class bodies skipped."""
    names, todo = set(), [node]
    while todo:
        for child in ast.iter_child_nodes(todo.pop()):
            if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load) == loads:
                names.add(child.id)
            elif not loads and isinstance(child, _DEFS):
                names.add(child.name)
            elif not loads and isinstance(child, (ast.Import, ast.ImportFrom)):
                names.update((a.asname or a.name).split(".")[0] for a in child.names)
            elif not loads and isinstance(child, ast.arg):
                names.add(child.arg)
            if into_defs or not isinstance(child, _DEFS):
                todo.append(child)
    return names


def _assigned(node: ast.stmt) -> set[str]:
    """Names a plain top-level assignment binds (`a = ...`, `a, b = ...`)."""
    if not isinstance(node, ast.Assign):
        return set()
    return {n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def _restore_dropped(parent: ast.Module, parent_lines: list[str], reply: str, tree: ast.Module) -> tuple[str, list[str]]:
    """A whole-script reply that still uses a top-level function or variable of the parent but no longer
    defines it gets the parent's statement back, just before the first statement that uses it."""
    known = set(dir(builtins))
    bound, module_bound = _names(tree, loads=False) | known, _names(tree, loads=False, into_defs=False) | known
    used = _names(tree)
    wanted: list[tuple[set[str], ast.stmt]] = []
    for node in parent.body:
        if isinstance(node, _DEFS) and node.name in used and node.name not in bound:
            wanted.append(({node.name}, node))
        elif names := (_assigned(node) & used) - module_bound:
            wanted.append((names, node))
    if not wanted:
        return reply, []
    lines, users = reply.splitlines(), [(stmt, _names(stmt)) for stmt in tree.body]
    inserts = []
    for names, node in wanted:
        first = next((stmt for stmt, loads in users if loads & names), tree.body[-1])
        text = parent_lines[slice(*_span(node))]
        inserts.append((_span(first)[0], text + ["", ""] if isinstance(node, _DEFS) else text))
    for at, text in reversed(sorted(inserts, key=lambda item: item[0])):  # equal places keep the parent's order
        lines[at:at] = text
    restored = sorted(n for names, _ in wanted for n in names)
    return "\n".join(lines) + "\n", [f"put back {', '.join(restored)} from the parent script (the reply uses it)"]


def _span(node: ast.stmt) -> tuple[int, int]:
    """0-based [start, end) lines of a definition, decorators included."""
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]) - 1
    assert node.end_lineno is not None
    return start, node.end_lineno


def merge_functions(parent: str, reply: str, *, only_functions: bool = False,
                    into: str = "parent script") -> tuple[str, list[str]]:
    """The merged script and notes on what was merged; (reply, []) when the reply is a whole script.
    With `only_functions` (a draft from the starter script, a small step), a whole script that redefines
    functions of the parent contributes only its imports and definitions: the parent's reading, validation
    and writing code stays. `into` names the parent in the note."""
    try:
        tree, base = ast.parse(reply), ast.parse(parent)
    except SyntaxError:
        return reply, []
    lines = parent.splitlines()
    defs = {n.name: n for n in base.body if isinstance(n, _DEFS)}
    partial = _is_partial(tree)
    if not partial and not only_functions:
        return _restore_dropped(base, lines, reply, tree)
    # A partial reply holds only these (and docstrings); a whole script with `only_functions` gives only these.
    nodes = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom, *_DEFS))]
    reply_lines = reply.splitlines()
    imports, edits, new_defs = [], {}, {}  # a name defined twice: the last definition wins, as in Python
    for node in nodes:
        text = reply_lines[slice(*_span(node))]
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports += [line for line in text if line not in lines and line not in imports]
        elif node.name in defs:
            edits[node.name] = (*_span(defs[node.name]), text)
        else:
            new_defs[node.name] = ["", ""] + text
    replaced, added = list(edits), list(new_defs)
    if not replaced:  # nothing of the parent is touched: the reply is not a patch of this script
        return _restore_dropped(base, lines, reply, tree)
    for start, end, text in sorted(edits.values(), reverse=True):
        lines[start:end] = text
    last_def = max((_span(n)[1] for n in ast.parse("\n".join(lines)).body if isinstance(n, _DEFS)), default=0)
    lines[last_def:last_def] = [line for text in new_defs.values() for line in text]
    at = _first_code_line(lines)
    lines[at:at] = imports
    notes = [f"merged the reply's {', '.join(replaced + added)} into the {into}"
             + ("" if partial else " (the reply's other code is not used)")]
    return "\n".join(lines) + "\n", notes
