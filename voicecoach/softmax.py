"""Multinomial logistic regression by gradient descent with momentum: both of the knowledge base's classifiers,
over tf-idf word vectors (sparse rows) and over sentence embeddings (dense rows)."""
from __future__ import annotations

from typing import Callable

import numpy as np

MOMENTUM = 0.9


def softmax(logits: np.ndarray) -> np.ndarray:
    odds = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return odds / odds.sum(axis=-1, keepdims=True)


def train(forward: Callable[[np.ndarray], np.ndarray], backward: Callable[[np.ndarray], np.ndarray], features: int,
          labels: list[int], classes: int, *, epochs: int, l2: float, step: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(coefficients, features x classes; intercepts, classes) fitted to `labels`, one class index per row.
    `forward(W)` is rows @ W and `backward(E)` is rows.T @ E, so the rows may be held dense or sparse."""
    targets = np.eye(classes)[labels]
    coefficients, intercepts = np.zeros((features, classes)), np.zeros(classes)
    coefficients_step, intercepts_step = np.zeros_like(coefficients), np.zeros_like(intercepts)
    for _ in range(epochs):
        error = (softmax(forward(coefficients) + intercepts) - targets) / len(labels)
        coefficients_step = MOMENTUM * coefficients_step - step * (backward(error) + l2 * coefficients)
        intercepts_step = MOMENTUM * intercepts_step - step * error.sum(axis=0)
        coefficients += coefficients_step
        intercepts += intercepts_step
    return coefficients, intercepts
