"""Information audit: what the assistant's public view reveals about the hidden user.

    python benchmarks/info_audit.py [--episodes 2000] [--seed 0] [--assistant always_aq]
                                    [--workers 2] [--json PATH]

Plays ``--episodes`` episodes of the clarification game with a simple assistant and
records, at the assistant's *first* decision, its public view — the observation vector
(:data:`~gtalign_sim.envs.clarification.ASSISTANT_FEATURES`) plus text features of the
public transcript (:data:`TEXT_FEATURES`) — next to the hidden variables (:data:`TARGETS`):
the question type (DQ/VQ), whether the intent is the task's most likely reading, the
persona, the patience and the preferred answer length (band midpoint in terciles).

The text features use only what the assistant is given: the opening message and the
task's readings (``info["task"].interpretations``, each with its prior and its
``detailed`` phrasing, are public). "The opening message is reading j's detailed
phrasing" is therefore a legitimate feature — and it shows that a detailed question
reveals the intent.

Per hidden variable, an L2-regularised multinomial logistic regression (numpy +
``scipy.optimize``, features standardised on the training folds) is scored by stratified
5-fold cross-validation against the majority-class predictor fitted on the same folds:
out-of-fold accuracy, the paired lift over the baseline with a 95% t interval, and, for
the binary targets, the out-of-fold AUC. Rows marked ``DQ only`` / ``VQ only`` score the
same out-of-fold predictions on a subset; ``no open. text`` (``no o.t.``) refits without
:data:`OPENING_TEXT_FEATURES` (which reading the opening states, and its length);
``q. type only`` refits on the question type alone (the user's DQ/VQ choice is itself a
signal about the persona).

The first decision's view does not depend on the assistant (stationary users, the
default), so ``--assistant`` only changes what is played after it. Episodes are
independent given their seeds, so ``--workers`` processes give identical figures; seeds
are grouped by task across workers because the user simulator's per-task tables
dominate the cost. Random draws (episode seeds, folds) come from numpy Generators
seeded from ``--seed``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.stats import rankdata

from gtalign_sim.agents import build_assistant
from gtalign_sim.envs import ClarificationGameEnv
from gtalign_sim.envs.clarification import ASSISTANT_FEATURES
from gtalign_sim.envs.rollout import episode_seeds, run_episode
from gtalign_sim.eval.stats import mean_ci
from gtalign_sim.users import UserProfile

TEXT_FEATURES: tuple[str, ...] = (
    "opening_words",
    "n_readings",
    "opening_states_a_reading",
    "opening_states_most_likely",
    "opening_states_other_reading",
    "opening_reading_prior",
)
"""Public text features of the transcript at the first decision."""

REVEAL_FEATURES: tuple[str, ...] = (
    "opening_states_most_likely",
    "opening_states_other_reading",
    "opening_reading_prior",
)
"""The features that compare the opening message with the readings' detailed phrasing."""

OPENING_TEXT_FEATURES: tuple[str, ...] = (
    *REVEAL_FEATURES,
    "opening_words",
    "context_tokens_k",
    "last_user_tokens_100",
)
"""What the opening message's wording and length tell (dropped by the ``no opening text``
ablation: a detailed question's length also differs between readings)."""

FEATURES: tuple[str, ...] = (*ASSISTANT_FEATURES, *TEXT_FEATURES)

TARGETS: tuple[str, ...] = (
    "question_type",
    "intent_is_default",
    "persona",
    "patience",
    "length_pref",
)
"""The hidden variables audited, in table order."""

LENGTH_LABELS: tuple[str, ...] = ("short", "medium", "long")


# --------------------------------------------------------------------- collection
def text_features(info: Mapping[str, Any]) -> list[float]:
    """:data:`TEXT_FEATURES` from the public info (the transcript and the task's readings)."""
    task = info["task"]
    opening = next((t.text for t in info["history"] if t.role == "user"), "")
    readings = list(task.interpretations)
    default = task.most_likely().id
    stated = next((it for it in readings if it.detailed == opening), None)
    return [
        float(len(opening.split())),
        float(len(readings)),
        float(stated is not None),
        float(stated is not None and stated.id == default),
        float(stated is not None and stated.id != default),
        float(stated.prior) if stated is not None else 0.0,
    ]


def public_features(observation: Mapping[str, Any], info: Mapping[str, Any]) -> np.ndarray:
    """The public view at a decision as one vector ordered as :data:`FEATURES`."""
    obs = np.asarray(observation["observation"], dtype=float)
    return np.concatenate([obs, text_features(info)])


def hidden_variables(env: ClarificationGameEnv) -> dict[str, Any]:
    """The raw hidden variables of the current episode (the privileged truth)."""
    prof: UserProfile = env.profile
    lo, hi = prof.length_band
    return {
        "question_type": env.strategy,
        "intent_is_default": bool(prof.intent == env.task.most_likely().id),
        "persona": prof.persona,
        "patience": int(prof.patience),
        "length_mid": 0.5 * (lo + hi),
    }


class _FirstView:
    """Wraps an assistant and keeps the public view of its first decision."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        # a privileged assistant may receive info["privileged"]; it is never recorded
        self.privileged = bool(getattr(inner, "privileged", False))
        self.view: np.ndarray | None = None

    def reset(self, seed: int | None = None) -> None:
        self.inner.reset(seed)

    def act(self, observation: Mapping[str, Any], info: Mapping[str, Any]) -> Any:
        if self.view is None:
            public = {k: info[k] for k in ("task", "history", "question_type", "pricing")}
            self.view = public_features(observation, public)
        return self.inner.act(observation, info)


def _collect_chunk(
    job: tuple[str, dict[str, Any], bool, list[tuple[int, int]]],
) -> list[tuple[int, np.ndarray, dict[str, Any]]]:
    assistant, env_kwargs, play, items = job
    env = ClarificationGameEnv(**env_kwargs)
    recorder = _FirstView(build_assistant(assistant))
    recorder.reset()
    out = []
    for index, seed in items:
        if play:
            recorder.view = None
            run_episode(env, recorder, seed, record_decisions=False)
            view = recorder.view
        else:  # the first decision comes right after reset
            env.reset(seed=seed)
            view = public_features(env.observe("assistant"), env.infos["assistant"])
        if view is None:
            raise RuntimeError(f"episode seed {seed}: the assistant never decided")
        out.append((index, view, hidden_variables(env)))
    return out


def _task_of_seeds(seeds: Sequence[int], env_kwargs: Mapping[str, Any]) -> list[str]:
    """Each seed's task, from a cheap reset (forced strategy, placeholder profile); the
    task stream is independent of the profile and strategy streams."""
    env = ClarificationGameEnv(**env_kwargs)
    out = []
    for s in seeds:
        env.reset(seed=s, options={"profile": UserProfile(), "strategy": "VQ"})
        out.append(env.task.id)
    return out


def _plan(
    seeds: Sequence[int], workers: int, env_kwargs: Mapping[str, Any]
) -> list[list[tuple[int, int]]]:
    """Split ``(index, seed)`` pairs into ``workers`` chunks with each task in one chunk."""
    items = list(enumerate(seeds))
    if workers <= 1:
        return [items]
    groups: dict[str, list[tuple[int, int]]] = {}
    for item, task_id in zip(items, _task_of_seeds(seeds, env_kwargs), strict=True):
        groups.setdefault(task_id, []).append(item)
    chunks: list[list[tuple[int, int]]] = [[] for _ in range(workers)]
    # each task costs one table build plus a little per episode: balance on that
    load = [0.0] * workers
    for g in sorted(groups.values(), key=len, reverse=True):
        w = int(np.argmin(load))
        chunks[w].extend(g)
        load[w] += 4.0 + len(g)
    return [c for c in chunks if c]


@dataclass
class AuditData:
    """Public features and hidden variables of the first decision of each episode."""

    X: np.ndarray
    hidden: dict[str, np.ndarray]
    seeds: list[int]
    feature_names: tuple[str, ...] = FEATURES
    config: dict[str, Any] = field(default_factory=dict)


def collect(
    episodes: int,
    seed: int = 0,
    assistant: str = "always_aq",
    workers: int = 1,
    play: bool = True,
    env_kwargs: Mapping[str, Any] | None = None,
) -> AuditData:
    """Play ``episodes`` episodes (seeds :func:`episode_seeds` of ``seed``) and record the
    public view at each first decision with the episode's hidden variables."""
    env_kwargs = dict(env_kwargs or {})
    seeds = episode_seeds(seed, episodes)
    chunks = _plan(seeds, workers, env_kwargs)
    jobs = [(assistant, env_kwargs, play, c) for c in chunks]
    if len(jobs) == 1:
        results = [_collect_chunk(jobs[0])]
    else:
        with ProcessPoolExecutor(len(jobs), mp_context=get_context("spawn")) as pool:
            results = list(pool.map(_collect_chunk, jobs))
    rows = sorted((r for chunk in results for r in chunk), key=lambda r: r[0])
    X = np.stack([r[1] for r in rows]) if rows else np.zeros((0, len(FEATURES)))
    keys = ("question_type", "intent_is_default", "persona", "patience", "length_mid")
    hidden = {k: np.array([r[2][k] for r in rows]) for k in keys}
    config = {
        "episodes": episodes,
        "seed": seed,
        "assistant": assistant,
        "play": play,
        "env_kwargs": env_kwargs,
    }
    return AuditData(X=X, hidden=hidden, seeds=seeds, config=config)


def encode_targets(data: AuditData) -> dict[str, tuple[np.ndarray, tuple[str, ...]]]:
    """Each of :data:`TARGETS` as integer classes with their labels.

    Binary targets put the positive class at 1 (``DQ``, intent is the default). The
    length preference is the band midpoint cut at the sample's terciles.
    """
    h = data.hidden
    out: dict[str, tuple[np.ndarray, tuple[str, ...]]] = {}
    out["question_type"] = ((h["question_type"] == "DQ").astype(int), ("VQ", "DQ"))
    out["intent_is_default"] = (h["intent_is_default"].astype(int), ("other", "default"))
    personas = tuple(sorted(set(h["persona"].tolist())))
    out["persona"] = (np.array([personas.index(p) for p in h["persona"]]), personas)
    levels = tuple(sorted(set(h["patience"].tolist())))
    out["patience"] = (
        np.array([levels.index(p) for p in h["patience"]]),
        tuple(str(x) for x in levels),
    )
    out["length_pref"] = (np.digitize(h["length_mid"], length_cutoffs(data)), LENGTH_LABELS)
    return out


def length_cutoffs(data: AuditData) -> np.ndarray:
    """The terciles of the preferred-length band midpoint (words) in the sample."""
    return np.quantile(data.hidden["length_mid"], [1 / 3, 2 / 3])


# --------------------------------------------------------------------- classifier
def standardise(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre and scale both with the training set's mean and std (constant columns -> 0)."""
    mu = train.mean(axis=0)
    sd = train.std(axis=0)
    sd = np.where(sd > 1e-12, sd, 1.0)
    return (train - mu) / sd, (test - mu) / sd


def fit_logreg(
    X: np.ndarray, y: np.ndarray, n_classes: int, l2: float = 1e-2, gtol: float = 1e-6
) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression: minimise mean cross-entropy + ``l2/2 · ||W||²``
    (intercepts unpenalised), a smooth convex problem, with ``scipy.optimize``'s
    trust-region Newton-CG on the analytic gradient and Hessian-vector product.
    Returns ``(W, b)``.

    (Newton-CG rather than L-BFGS-B: its work is a few numpy products per step, while
    L-BFGS-B's compiled core calls a threaded BLAS on tiny matrices at every iteration,
    which costs ~10x on a busy 2-core machine.)
    """
    n, d = X.shape
    k = int(n_classes)
    Y = np.zeros((n, k))
    Y[np.arange(n), y] = 1.0
    m = d * k

    def proba(theta: np.ndarray) -> np.ndarray:
        return np.exp(_log_softmax(X @ theta[:m].reshape(d, k) + theta[m:]))

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        W = theta[:m].reshape(d, k)
        logp = _log_softmax(X @ W + theta[m:])
        loss = -float((Y * logp).sum()) / n + 0.5 * l2 * float((W * W).sum())
        G = (np.exp(logp) - Y) / n
        return loss, np.concatenate([(X.T @ G + l2 * W).ravel(), G.sum(axis=0)])

    def hessp(theta: np.ndarray, v: np.ndarray) -> np.ndarray:
        P = proba(theta)
        V = v[:m].reshape(d, k)
        S = X @ V + v[m:]
        R = P * (S - (P * S).sum(axis=1, keepdims=True)) / n
        return np.concatenate([(X.T @ R + l2 * V).ravel(), R.sum(axis=0)])

    res = minimize(
        objective,
        np.zeros(m + k),
        jac=True,
        hessp=hessp,
        method="trust-ncg",
        options={"gtol": gtol, "maxiter": 500},
    )
    return res.x[:m].reshape(d, k), res.x[m:]


def predict_proba(W: np.ndarray, b: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Class probabilities ``(n, k)`` of a fitted :func:`fit_logreg` model."""
    return np.exp(_log_softmax(X @ W + b))


def _log_softmax(Z: np.ndarray) -> np.ndarray:
    Z = Z - Z.max(axis=1, keepdims=True)
    return Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))


def stratified_folds(y: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Fold index per example: each class shuffled and dealt round-robin over ``k`` folds."""
    folds = np.empty(len(y), dtype=int)
    offset = 0
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        folds[idx] = (offset + np.arange(len(idx))) % k
        offset += len(idx)
    return folds


def cross_validate(
    X: np.ndarray, y: np.ndarray, n_classes: int, folds: np.ndarray, l2: float = 1e-2
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold class probabilities of the classifier, and out-of-fold predictions of
    the majority class of each training fold (the baseline); ``folds`` from
    :func:`stratified_folds`."""
    proba = np.zeros((len(y), n_classes))
    base = np.zeros(len(y), dtype=int)
    for f in np.unique(folds):
        test = folds == f
        train = ~test
        Xtr, Xte = standardise(X[train], X[test])
        W, b = fit_logreg(Xtr, y[train], n_classes, l2=l2)
        proba[test] = predict_proba(W, b, Xte)
        base[test] = int(np.bincount(y[train], minlength=n_classes).argmax())
    return proba, base


def auc(score: np.ndarray, y: np.ndarray) -> float | None:
    """Area under the ROC curve of ``score`` for ``y == 1`` (ties count half)."""
    pos = y == 1
    n1, n0 = int(pos.sum()), int((~pos).sum())
    if n1 == 0 or n0 == 0:
        return None
    ranks = rankdata(score)
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def score_row(
    target: str,
    subset: str,
    y: np.ndarray,
    labels: Sequence[str],
    proba: np.ndarray,
    base: np.ndarray,
) -> dict[str, Any]:
    """One table row: accuracy, baseline, paired lift (95% t CI), AUC for two classes."""
    pred = proba.argmax(axis=1)
    hit, base_hit = (pred == y).astype(float), (base == y).astype(float)
    lift = mean_ci(hit - base_hit)
    counts = np.bincount(y, minlength=len(labels))
    row = {
        "target": target,
        "subset": subset,
        "n": len(y),
        "classes": {lab: int(c) for lab, c in zip(labels, counts, strict=True)},
        "majority_share": float(counts.max() / max(len(y), 1)),
        "accuracy": float(hit.mean()) if len(y) else None,
        "baseline": float(base_hit.mean()) if len(y) else None,
        "lift": lift["mean"],
        "lift_lo": lift["lo"],
        "lift_hi": lift["hi"],
        "auc": auc(proba[:, 1], y) if len(labels) == 2 else None,
    }
    return row


def audit(data: AuditData, seed: int = 0, folds: int = 5, l2: float = 1e-2) -> list[dict]:
    """Cross-validate a classifier per hidden variable; one row per target and subset."""
    targets = encode_targets(data)
    streams = np.random.SeedSequence([seed, 1]).spawn(len(TARGETS))
    dq = targets["question_type"][0] == 1
    rows = []
    for i, name in enumerate(TARGETS):
        y, labels = targets[name]
        fold_of = stratified_folds(y, folds, np.random.default_rng(streams[i]))
        proba, base = cross_validate(data.X, y, len(labels), fold_of, l2=l2)
        rows.append(score_row(name, "all", y, labels, proba, base))
        if name == "intent_is_default":
            for sub, mask in (("DQ only", dq), ("VQ only", ~dq)):
                rows.append(score_row(name, sub, y[mask], labels, proba[mask], base[mask]))
            drop = OPENING_TEXT_FEATURES
            keep = [j for j, f in enumerate(data.feature_names) if f not in drop]
            p2, b2 = cross_validate(data.X[:, keep], y, len(labels), fold_of, l2=l2)
            rows.append(score_row(name, "no open. text", y, labels, p2, b2))
            rows.append(score_row(name, "no o.t., DQ", y[dq], labels, p2[dq], b2[dq]))
        elif name != "question_type":
            j = [data.feature_names.index("detailed_question")]
            p2, b2 = cross_validate(data.X[:, j], y, len(labels), fold_of, l2=l2)
            rows.append(score_row(name, "q. type only", y, labels, p2, b2))
    return rows


# --------------------------------------------------------------------- report
def format_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """The rows as a fixed-width text table."""
    head = (
        f"{'hidden variable':<18} {'subset':<14} {'n':>5} {'k':>2} {'accuracy':>8} "
        f"{'baseline':>8} {'lift [95% CI]':>24} {'AUC':>6}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        auc_s = f"{r['auc']:.3f}" if r["auc"] is not None else "-"
        lift = f"{r['lift']:+.3f} [{r['lift_lo']:+.3f}, {r['lift_hi']:+.3f}]"
        lines.append(
            f"{r['target']:<18} {r['subset']:<14} {r['n']:>5} {len(r['classes']):>2} "
            f"{r['accuracy']:>8.3f} {r['baseline']:>8.3f} {lift:>24} {auc_s:>6}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--assistant", default="always_aq")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--l2", type=float, default=1e-2)
    parser.add_argument("--tasks-per-family", type=int, default=200)
    parser.add_argument("--json", default=None, help="write the results to this path")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    data = collect(
        args.episodes,
        seed=args.seed,
        assistant=args.assistant,
        workers=args.workers,
        env_kwargs={"tasks_per_family": args.tasks_per_family},
    )
    t_collect = time.perf_counter() - start
    rows = audit(data, seed=args.seed, folds=args.folds, l2=args.l2)
    wall = time.perf_counter() - start
    cut = length_cutoffs(data)
    print(
        f"information audit: {args.episodes} episodes (seed {args.seed}, {args.assistant}), "
        f"first assistant decision; {len(FEATURES)} public features; "
        f"{args.folds}-fold CV, L2 logistic regression (l2={args.l2})"
    )
    print(format_table(rows))
    print(
        f"length_pref terciles of the band midpoint: <{cut[0]:.1f}, {cut[0]:.1f}-{cut[1]:.1f}, "
        f">{cut[1]:.1f} words. baseline = majority class of the training folds; lift = "
        "accuracy - baseline, paired."
    )
    print(f"wall {wall:.1f} s (collection {t_collect:.1f} s, {args.workers} workers)")
    result = {
        "config": {**data.config, "folds": args.folds, "l2": args.l2, "workers": args.workers},
        "features": list(data.feature_names),
        "length_cutoffs_words": [float(c) for c in cut],
        "rows": rows,
        "wall_s": wall,
    }
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=2)
    return result


if __name__ == "__main__":
    main()
