"""Function-level patches of the Coder's replies, and dropped functions put back."""

from __future__ import annotations

import ast

from gome.tools.patch import strip_echo, merge_functions

PARENT = '''import pandas as pd
from sklearn.dummy import DummyClassifier

ID = "id"


def features(df):
    return df.drop(columns=[ID])


def make_model():
    return DummyClassifier()


def predict(model, X):
    return model.predict(X)


X = features(pd.DataFrame({"id": [1], "a": [2]}))
print(predict(make_model().fit(X, [0]), X))
'''


def test_partial_reply_replaces_functions_and_adds_imports() -> None:
    reply = "from sklearn.ensemble import RandomForestClassifier\n\ndef make_model():\n    return RandomForestClassifier()\n"
    merged, notes = merge_functions(PARENT, reply)
    ast.parse(merged)
    assert "DummyClassifier()" not in merged and "return RandomForestClassifier()" in merged
    assert merged.index("from sklearn.ensemble import RandomForestClassifier") < merged.index('ID = "id"')
    assert merged.count("def features") == 1 and merged.endswith("print(predict(make_model().fit(X, [0]), X))\n")
    assert notes == ["merged the reply's make_model into the parent script"]
    exec(compile(merged, "merged", "exec"), {})  # it runs: the rest of the parent is intact


def test_a_partial_reply_with_a_docstring_is_merged() -> None:  # it raised AttributeError (found by mypy)
    reply = '"""A better model."""\nfrom sklearn.ensemble import RandomForestClassifier\n\ndef make_model():\n    return RandomForestClassifier()\n'
    merged, notes = merge_functions(PARENT, reply)
    assert "return RandomForestClassifier()" in merged and "A better model." not in merged
    assert notes == ["merged the reply's make_model into the parent script"]


def test_partial_reply_may_add_a_helper() -> None:
    reply = "def helper():\n    return 3\n\n\ndef make_model():\n    return DummyClassifier(constant=helper())\n"
    merged, notes = merge_functions(PARENT, reply)
    assert merged.index("def helper") > merged.index("def predict") and "make_model, helper" in notes[0]
    ast.parse(merged)


def test_a_draft_merges_into_the_starter_script() -> None:  # the note said "parent script" for a draft
    reply = "def make_model():\n    return DummyClassifier(strategy='uniform')\n"
    assert merge_functions(PARENT, reply, only_functions=True, into="starter script")[1] == [
        "merged the reply's make_model into the starter script"]


def test_a_function_defined_twice_in_the_reply_counts_once() -> None:  # small models repeat themselves
    first = "def make_model():\n    return DummyClassifier(strategy='prior')\n"
    merged, notes = merge_functions(PARENT, first + "\n\n" + first.replace("prior", "uniform"))
    assert merged.count("def make_model") == 1 and "uniform" in merged and "prior" not in merged
    assert notes == ["merged the reply's make_model into the parent script"]
    exec(compile(merged, "merged", "exec"), {})


def test_whole_script_is_kept_but_a_dropped_function_is_put_back() -> None:
    reply = PARENT.replace('''def predict(model, X):
    return model.predict(X)
''', "")
    merged, notes = merge_functions(PARENT, reply)
    assert merged.count("def predict") == 1 and "put back predict" in notes[0]
    exec(compile(merged, "merged", "exec"), {})
    assert merge_functions(PARENT, PARENT) == (PARENT, [])


def test_replies_that_are_not_patches_are_used_as_they_are() -> None:
    unrelated = "def other():\n    return 1\n"
    broken = "def make_model(:\n"
    assert merge_functions(PARENT, unrelated) == (unrelated, [])
    assert merge_functions(PARENT, broken) == (broken, [])
    assert merge_functions("", "def make_model():\n    return 1\n") == ("def make_model():\n    return 1\n", [])
    local = "def predict(model, X):\n    return 1\nprint(predict(None, None))\n"  # defines its own: nothing put back
    assert merge_functions(PARENT, local) == (local, [])


def test_a_draft_from_the_starter_uses_only_the_replys_functions() -> None:
    reply = PARENT.replace("DummyClassifier()", "RandomForestClassifier()").replace(
        "import pandas as pd\n", "import pandas as pd\nfrom sklearn.ensemble import RandomForestClassifier\n"
    ).replace("print(predict(make_model().fit(X, [0]), X))", "print('its own main code')")
    merged, notes = merge_functions(PARENT, reply, only_functions=True)
    assert "its own main code" not in merged and merged.endswith("print(predict(make_model().fit(X, [0]), X))\n")
    assert "return RandomForestClassifier()" in merged and "other code is not used" in notes[0]
    exec(compile(merged, "merged", "exec"), {})
    scratch = "import pandas as pd\nprint(1)\n"  # a script of its own, touching no function of the starter
    assert merge_functions(PARENT, scratch, only_functions=True) == (scratch, [])


def test_dropped_top_level_variables_are_put_back_before_their_first_use() -> None:
    parent = '''import pandas as pd

ID = "id"
train = pd.DataFrame({"id": [1, 2], "a": [3, 4]})


def features(train):
    return train.drop(columns=[ID])


X = features(train)
print(X.shape)
'''
    reply = parent.replace('ID = "id"\n', "").replace('train = pd.DataFrame({"id": [1, 2], "a": [3, 4]})\n', "")
    merged, notes = merge_functions(parent, reply)
    assert notes == ["put back ID, train from the parent script (the reply uses it)"]
    assert merged.index('ID = "id"') < merged.index("train = pd.DataFrame") < merged.index("def features")
    exec(compile(merged, "merged", "exec"), {})
    own = reply.replace("X = features(train)", "train = pd.DataFrame({'id': [5]})\nX = features(train)")
    assert "train = pd.DataFrame({\"id\"" not in merge_functions(parent, own)[0]  # it binds train itself


def test_the_starters_placeholder_note_goes_with_the_placeholder() -> None:
    from gome.tasks.starter import PLACEHOLDER_NOTE, strip_placeholder

    placeholder = f'from sklearn.dummy import DummyRegressor\n\n\ndef make_model():\n    return DummyRegressor(strategy="mean"){PLACEHOLDER_NOTE}\n'
    assert strip_placeholder(placeholder) == placeholder  # still the placeholder: it says so
    real = placeholder.replace('DummyRegressor(strategy="mean")', "RandomForestRegressor()")
    real = "from sklearn.ensemble import RandomForestRegressor\n" + real
    tidy = strip_placeholder(real)
    assert "placeholder" not in tidy and "sklearn.dummy" not in tidy and "return RandomForestRegressor()\n" in tidy


def test_only_the_prompt_text_copied_after_a_script_is_cut() -> None:
    """The tail the embedded model copied in the tree strategy's runs (lending-club, stop 20)."""
    prompt = "# Plan\nThe script scored 0.70. Make one atomic change that should improve the score.\nIts output ended with:\nvalidation_score: 0.69\n"
    script = "import pandas as pd\nprint('validation_score:', 0.7)\n"
    assert strip_echo(script + "\n" + prompt, prompt) == (script, 5)
    assert strip_echo(script, prompt) == (script, 0)  # it parses
    own = script.replace("0.7)", "0.7") + "\n" + prompt  # a syntax error of its own: nothing of the prompt is the cause
    assert strip_echo(own, prompt) == (own, 0)
    other = script + "The model is good.\n" + prompt  # a line that is not the prompt's: not an echo
    assert strip_echo(other, prompt) == (other, 0)
