"""Reference solutions for text (TF-IDF + linear models) and images (pixels: linear model, SVM, augmentation)."""

from __future__ import annotations

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import FeatureUnion
from sklearn.svm import SVC

from gome.tasks.suite.problem import Problem, blend_weight, holdout

__all__ = ["image_level", "text_level"]


def _prior(problem: Problem, n: int) -> np.ndarray:
    shares = np.array([np.mean(problem.y == c) for c in problem.classes])
    return np.tile(shares, (n, 1))


def _proba(problem: Problem, model: object, x: object) -> np.ndarray:
    proba = model.predict_proba(x)  # type: ignore[attr-defined]
    return proba[:, [list(model.classes_).index(c) for c in problem.classes]]  # type: ignore[attr-defined]


def _vectorizer(rich: bool) -> TfidfVectorizer | FeatureUnion:
    word = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=200_000)
    if not rich:
        return word
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True,
                            max_features=200_000)
    return FeatureUnion([("word", word), ("char", chars)])


def _linear(problem: Problem, texts_fit: np.ndarray, y_fit: np.ndarray, texts: list[np.ndarray],
            c: float, rich: bool) -> list[np.ndarray]:
    vec = _vectorizer(rich)
    model = LogisticRegression(C=c, max_iter=3000).fit(vec.fit_transform(texts_fit), y_fit)
    return [_proba(problem, model, vec.transform(t)) for t in texts]


def _nb_logistic(problem: Problem, texts_fit: np.ndarray, y_fit: np.ndarray, texts: list[np.ndarray]) -> list[np.ndarray]:
    """NB-weighted logistic regression on binary 1-3-gram features (one-vs-rest over the classes)."""
    vec = TfidfVectorizer(ngram_range=(1, 3), min_df=2, binary=True, use_idf=False, norm=None)
    x_fit = vec.fit_transform(texts_fit)
    others = [vec.transform(t) for t in texts]
    outs = [np.zeros((o.shape[0], len(problem.classes))) for o in others]
    for k, cls in enumerate(problem.classes):
        pos = y_fit == cls
        p, q = np.asarray(x_fit[pos].sum(0) + 1).ravel(), np.asarray(x_fit[~pos].sum(0) + 1).ravel()
        r = sparse.diags(np.log((p / p.sum()) / (q / q.sum())))
        model = LogisticRegression(C=1.0, max_iter=3000).fit(x_fit @ r, pos)
        for out, o in zip(outs, others):
            out[:, k] = model.predict_proba(o @ r)[:, 1]
    return [o / o.sum(axis=1, keepdims=True) for o in outs]


def text_level(problem: Problem, level: str) -> np.ndarray:
    """Test class probabilities of one text reference level."""
    col = problem.spec.text_column
    texts, test = problem.train[col].fillna("").to_numpy(), problem.test[col].fillna("").to_numpy()
    if level == "dummy":
        return _prior(problem, len(test))
    if level == "default":
        return _linear(problem, texts, problem.y, [test], 1.0, rich=False)[0]
    fit, val = holdout(problem)
    scores = {}
    for c in (1.0, 4.0, 16.0):
        pred = _linear(problem, texts[fit], problem.y[fit], [texts[val]], c, rich=True)[0]
        scores[c] = problem.score(problem.y[val], pred)
    best_c = (min if problem.task.lower_is_better else max)(scores, key=scores.__getitem__)
    tuned = _linear(problem, texts, problem.y, [test], best_c, rich=True)[0]
    if level == "tuned":
        return tuned
    lin_val = _linear(problem, texts[fit], problem.y[fit], [texts[val]], best_c, rich=True)[0]
    nb_val = _nb_logistic(problem, texts[fit], problem.y[fit], [texts[val]])[0]
    w = blend_weight(problem, problem.y[val], lin_val, nb_val)
    return w * tuned + (1 - w) * _nb_logistic(problem, texts, problem.y, [test])[0]


def _pixels(problem: Problem, frame: object) -> np.ndarray:
    from PIL import Image

    col = problem.spec.image_column
    paths = [problem.task.public_dir / p for p in frame[col]]  # type: ignore[index]
    return np.stack([np.asarray(Image.open(p), dtype=np.float32).ravel() / 255.0 for p in paths])


def _shifted(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Training images plus copies shifted by one pixel in each direction."""
    images = x.reshape(-1, 28, 28)
    copies = [images] + [np.roll(images, s, axis=a) for a in (1, 2) for s in (-1, 1)]
    return np.concatenate(copies).reshape(-1, 784), np.tile(y, len(copies))


def _svc_scores(problem: Problem, model: SVC, x: np.ndarray) -> np.ndarray:
    scores = model.decision_function(x)
    scores = scores[:, [list(model.classes_).index(c) for c in problem.classes]]
    exp = np.exp(3.0 * (scores - scores.max(axis=1, keepdims=True)))
    return exp / exp.sum(axis=1, keepdims=True)


def image_level(problem: Problem, level: str) -> np.ndarray:
    """Test class probabilities of one image reference level."""
    x, x_test, y = _pixels(problem, problem.train), _pixels(problem, problem.test), problem.y
    if level == "dummy":
        return _prior(problem, len(x_test))
    if level == "default":
        return _proba(problem, LogisticRegression(C=0.1, max_iter=500).fit(x, y), x_test)
    fit, val = holdout(problem)
    scores = {c: problem.score(y[val], _svc_scores(problem, SVC(C=c).fit(x[fit], y[fit]), x[val]))
              for c in (1.0, 5.0)}
    best_c = max(scores, key=scores.__getitem__)
    if level == "tuned":
        return _svc_scores(problem, SVC(C=best_c).fit(x, y), x_test)
    x_aug, y_aug = _shifted(x, y)
    svc = _svc_scores(problem, SVC(C=best_c).fit(x_aug, y_aug), x_test)
    knn = _proba(problem, KNeighborsClassifier(n_neighbors=4, weights="distance").fit(x_aug, y_aug), x_test)
    return 0.8 * svc + 0.2 * knn
