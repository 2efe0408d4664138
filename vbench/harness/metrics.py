"""Scores the MLCommons runner computes from device results (docs/sources.md §Harness 3.6):
top-1 over normalised result vectors, and ROC AUC as sklearn.metrics.roc_auc_score defines it
(binary; one-vs-rest macro average for several classes), without depending on sklearn."""

from __future__ import annotations

import numpy as np

from vbench.errors import VbenchError


def normalise(vector) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float64)
    total = v.sum()
    if total <= 0:
        raise VbenchError(f"result vector {list(v)} sums to {total}: cannot normalise")
    return v / total


def top1_percent(labels, vectors) -> float:
    """100 x fraction of files whose argmax (first maximum) equals the label."""
    labels = np.asarray(labels)
    if len(labels) == 0:
        raise VbenchError("top-1 of no files")
    pred = np.array([int(np.argmax(normalise(v))) for v in vectors])
    return 100.0 * float(np.mean(pred == labels))


def roc_auc(y_true, scores) -> float:
    """Binary ROC AUC: the probability that a random positive scores above a random negative,
    ties counting one half (Mann-Whitney U / (n_pos n_neg), equal to the trapezoidal area under
    the exact ROC curve that sklearn computes)."""
    y = np.asarray(y_true).astype(int)
    s = np.asarray(scores, dtype=np.float64)
    if y.shape != s.shape:
        raise VbenchError(f"AUC: {len(y)} labels but {len(s)} scores")
    n_pos, n_neg = int((y == 1).sum()), int((y == 0).sum())
    if n_pos == 0 or n_neg == 0 or n_pos + n_neg != len(y):
        raise VbenchError("AUC needs labels 0 and 1, with at least one of each")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_s = s[order]
    i = 0
    while i < len(s):  # average ranks over ties
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    u = ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def roc_auc_ovr(labels, vectors) -> float | None:
    """Macro one-vs-rest AUC over the classes present among the labels (None if fewer than 2)."""
    labels = np.asarray(labels).astype(int)
    probs = np.array([normalise(v) for v in vectors])
    if probs.shape[1] == 2:
        return roc_auc(labels, probs[:, 1]) if len(set(labels)) == 2 else None
    present = sorted(set(labels.tolist()))
    if len(present) < 2:
        return None
    return float(np.mean([roc_auc(labels == c, probs[:, c]) for c in present]))


def median(values) -> float:
    return float(np.median(np.asarray(values, dtype=np.float64)))
