"""From raw scores to a confidence that means "probability the answer is right", and the threshold.

Both are fitted on cross-validated predictions over the knowledge base's own examples, where the
truth is known: an example counts as answered right when its top class is its own article, and as
answered wrong when the top class is another article (out-of-scope examples included).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression


@dataclass(frozen=True)
class Calibration:
    """Platt scaling of the top decision score: confidence = 1 / (1 + exp(-(slope * score + intercept)))."""

    slope: float
    intercept: float

    def __call__(self, scores: NDArray[np.float64]) -> NDArray[np.float64]:
        return 1.0 / (1.0 + np.exp(-(self.slope * np.asarray(scores, dtype=np.float64) + self.intercept)))


IDENTITY = Calibration(slope=4.0, intercept=0.0)  # when there is nothing to fit on: a monotone squash


def fit_calibration(
    scores: NDArray[np.float64], correct: NDArray[np.bool_], weights: NDArray[np.float64] | None = None
) -> Calibration:
    """Logistic fit of correctness on the score; falls back to a plain squash for one-sided data.

    `weights` count each example as that many mails (see `traffic_weights`), so that the confidence
    is the chance of being right in the mix of mail the bot is expected to get.
    """
    if len(scores) < 4 or correct.all() or not correct.any():
        return IDENTITY
    model = LogisticRegression(C=1e4).fit(
        np.asarray(scores).reshape(-1, 1), correct.astype(int), sample_weight=weights
    )
    slope = float(model.coef_[0][0])
    if slope <= 0:  # a higher score must never mean less confidence
        return IDENTITY
    return Calibration(slope=slope, intercept=float(model.intercept_[0]))


PRECISION_Z = 1.0  # the precision that must meet the target is its one-sided 84 % Wilson lower bound


def precision_lower_bound(share: NDArray[np.float64], samples: NDArray[np.float64]) -> NDArray[np.float64]:
    """Wilson score lower bound of a precision measured on `samples` answers: a few lucky answers
    do not count as proof.

    z = 1 (84 %): a larger z proves more but makes a small KB answer nothing at all (the shipped KB,
    about 30 examples a topic, reaches 0.97 only with the plain ratio or z <= 1). Figures of one run
    of bench/quality.py are in bench/README.md.
    """
    n = np.maximum(samples, 1.0)
    z2 = PRECISION_Z**2
    centre = share + z2 / (2 * n)
    spread = PRECISION_Z * np.sqrt(share * (1 - share) / n + z2 / (4 * n * n))
    return (centre - spread) / (1 + z2 / n)


@dataclass(frozen=True)
class OperatingPoint:
    threshold: float
    precision: float  # of the answered held-out examples
    coverage: float  # share of in-scope held-out examples answered


def choose_threshold(
    confidence: NDArray[np.float64],
    correct: NDArray[np.bool_],
    in_scope: NDArray[np.bool_],
    target_precision: float,
    weights: NDArray[np.float64] | None = None,
) -> OperatingPoint:
    """The lowest threshold whose answered set still meets the target precision (most coverage).

    "Meets" means the Wilson lower bound of the precision does (`precision_lower_bound`); the
    reported precision is the plain ratio. `confidence` is -inf where the model would not answer
    at all (its top class is out of scope). With `weights`, each example counts as that many mails
    and the bound uses Kish's effective number of answers, so a few heavy examples prove little.
    When no threshold meets the target, nothing is answered (threshold above every confidence).
    """
    order = np.argsort(-confidence, kind="stable")
    conf, right, inside = confidence[order], correct[order], in_scope[order]
    weight = np.ones(len(conf)) if weights is None else np.asarray(weights, dtype=np.float64)[order]
    answerable = np.isfinite(conf)
    answered_weight = np.where(answerable, weight, 0.0)
    cum_right = np.cumsum(np.where(right, answered_weight, 0.0))
    cum_answered = np.cumsum(answered_weight)
    effective = np.divide(
        cum_answered**2, np.cumsum(answered_weight**2), out=np.zeros(len(conf)), where=cum_answered > 0
    )
    cum_answered_in_scope = np.cumsum(answerable & inside)
    precision = np.divide(cum_right, cum_answered, out=np.zeros(len(conf)), where=cum_answered > 0)
    assured = precision_lower_bound(precision, effective)
    best: OperatingPoint | None = None
    total_in_scope = max(1, int(in_scope.sum()))
    for index in range(len(conf)):
        if not answerable[index]:
            break
        # only cut between different confidences: equal scores are answered or refused together
        if index + 1 < len(conf) and conf[index + 1] == conf[index]:
            continue
        if assured[index] >= target_precision:
            coverage = float(cum_answered_in_scope[index] / total_in_scope)
            best = OperatingPoint(float(conf[index]), float(precision[index]), coverage)
    if best is None:
        top = float(conf[0]) if len(conf) and np.isfinite(conf[0]) else 0.0
        return OperatingPoint(min(1.0, np.nextafter(top, np.inf)), 1.0, 0.0)
    return best


def traffic_weights(in_scope: NDArray[np.bool_], out_of_scope_share: float) -> NDArray[np.float64]:
    """How many mails each held-out example stands for, so that out-of-scope examples make up at
    least `out_of_scope_share` of the total.

    A KB has few out-of-scope examples (CLINC150: 100 beside 15,000), but a support mailbox gets
    plenty of mail no article answers; counted only as often as they are written, they barely move
    the precision estimate and the threshold comes out too low for real traffic. They are never
    counted less than the KB has them. Without out-of-scope examples there is nothing to weight.
    """
    weights = np.ones(len(in_scope))
    inside, outside = int(in_scope.sum()), int((~in_scope).sum())
    if inside and outside and out_of_scope_share > 0:
        weights[~in_scope] = max(1.0, out_of_scope_share / (1 - out_of_scope_share) * inside / outside)
    return weights
