"""The severity guess: how bad a reported fault is (critical, major, minor, cosmetic) or no fault at all.

Two parts, added up per class: a small text model (word + character n-gram TF-IDF as in the article
classifier, with a class-balanced linear SVM) trained on the agency-kept examples in
`<kb>/_severity/<class>.md`, and the explicit signals of `signals.py` (crash, data loss, "all users",
workaround, display only ...), each adding fixed amounts to class scores. The SVM margins are about ±1,
so one signal weighs about as much as the model, and two agreeing signals outweigh it: a small example
set cannot learn "all users + crash = critical" reliably, the rule can. "All users" alone is not
critical (issue 14): the rule needs the app, the login or a core flow down for them, and the writer's
"the rest works" or a way around it pulls the guess down to major or minor. The highest sum wins; "none"
(a question, wish or thanks) gives `severity=None`. Ties go to "none", then to the milder class.
Without examples (no `_severity/` folder) the model part is zero and the signals alone decide.
The confidence is a softmax over the summed scores: a relative certainty, not a calibrated probability.
Trained at start-up in well under a second, so the model is never stored; clients whose examples say
the same share one model per process (`shared_severity_model`).

The reasons (`reasons.py`) name each signal with the customer's words, and say what the text model
saw as the example sentence closest to the mail among those of the class it picked. The example
replaced the model's top n-grams ('characters: "e ab"'): an agent can judge a sentence the agency
wrote itself at a glance, and a wrong guess points at the example to move or fix; the confidence
alone would not say why.

The KB's article examples are not added as "none" examples: many describe a fault the article answers
("sync not working"), and topic words then read as "no fault". Measured (5-fold CV over the starter
set): macro F1 0.974 without them, 0.916 with all, 0.963 with the question-shaped ones only.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import normalize
from sklearn.svm import LinearSVC

from mailbot.classify.normalise import MappedText, classification_mapped, normalise
from mailbot.classify.reasons import closest_example, model_alone

# the examples' reader lives in severity_examples (no scikit-learn); its names stay importable here
from mailbot.classify.severity_examples import SeverityExample
from mailbot.classify.severity_examples import check_severity_examples as check_severity_examples
from mailbot.classify.severity_examples import load_severity_examples as load_severity_examples
from mailbot.classify.signals import LABELS, NONE, adjustments, find_signals
from mailbot.domain import Severity, SeverityGuess

MODEL_NAME = "severity-svm+signals-2"  # 2: issue 14, scope and workaround signals
SHARPNESS = 2.0  # softmax temperature of the confidence: a margin of 1 gives about 0.88 against one rival
MISSING_CLASS_SCORE = -1.0  # the SVM's "not this class" target, for classes without examples


@dataclass(frozen=True)
class SeverityModel:
    pipeline: Pipeline | None  # None: fewer than two classes of examples, signals only
    examples: int
    version: str = MODEL_NAME
    # the training examples as written, their classes and unit-length feature rows, for the reason
    # "closest example"; empty without a pipeline
    example_texts: tuple[str, ...] = ()
    example_labels: tuple[str, ...] = ()
    example_vectors: sparse.csr_matrix | None = None

    def guess(self, subject: str, body: str) -> SeverityGuess:
        """The guess for a mail; its signal reasons quote the subject and body as written."""
        return self.guess_texts([classification_mapped(subject, body)])[0]

    def guess_texts(self, texts: Sequence[str | MappedText]) -> list[SeverityGuess]:
        """Guesses for normalised texts (`classification_text`, or `classification_mapped` to quote
        the original words), the model part in one pass."""
        plain = [text if isinstance(text, str) else text.text for text in texts]
        if self.pipeline is None or not texts:
            return [combine(dict.fromkeys(LABELS, 0.0), text) for text in texts]
        features = sparse.csr_matrix(self.pipeline.named_steps["features"].transform(plain))
        svm = self.pipeline.named_steps["svm"]
        scores = np.asarray(svm.decision_function(features), dtype=np.float64)
        classes = [str(label) for label in svm.classes_]
        if scores.ndim == 1:  # two classes: scikit-learn gives one column, for classes[1]
            scores = np.column_stack([-scores, scores])
        similarity = np.asarray((normalize(features) @ self.example_vectors.T).todense())
        labels = np.array(self.example_labels)
        guesses = []
        for row, text in enumerate(texts):
            model = dict.fromkeys(LABELS, MISSING_CLASS_SCORE) | dict(zip(classes, scores[row], strict=True))
            guess = combine(model, text)
            picked = classes[int(np.argmax(scores[row]))]
            shown = np.where(labels == picked, similarity[row], -1.0)
            best = int(np.argmax(shown))
            if shown[best] > 0:
                why = closest_example(picked, self.example_texts[best], float(shown[best]))
                guess = SeverityGuess(guess.severity, guess.confidence, (*guess.reasons, why))
            guesses.append(guess)
        return guesses


def combine(model_scores: dict[str, float], text: str | MappedText) -> SeverityGuess:
    """Pure: model scores plus signal adjustments -> the guess, with signals and model view as reasons."""
    change, reasons = adjustments(find_signals(text))
    labels = list(LABELS)
    total = np.array([model_scores[label] + change[label] for label in labels])
    best = int(np.argmax(total))  # first of equals: LABELS puts "none" and milder classes first
    weights = np.exp(SHARPNESS * (total - total.max()))
    confidence = round(float(weights[best] / weights.sum()), 4)
    model_best = labels[int(np.argmax([model_scores[label] for label in labels]))]
    shown = list(reasons)
    if any(model_scores.values()) and model_best != labels[best]:
        shown.append(model_alone(model_best))
    severity = None if labels[best] == NONE else Severity(labels[best])
    return SeverityGuess(severity, confidence, tuple(shown))


def train_severity(examples: Iterable[SeverityExample]) -> SeverityModel:
    """Fit the text model; deterministic for the same examples. A text given twice keeps its first label."""
    first: dict[str, SeverityExample] = {}
    for example in examples:
        first.setdefault(normalise(example.text), example)
    texts, labels = list(first), [example.label for example in first.values()]
    if len(set(labels)) < 2:
        return SeverityModel(None, len(texts))
    pipeline = build_pipeline().fit(texts, labels)
    vectors = normalize(sparse.csr_matrix(pipeline.named_steps["features"].transform(texts)))
    written = tuple(" ".join(example.text.split()) for example in first.values())
    return SeverityModel(pipeline, len(texts), MODEL_NAME, written, tuple(labels), vectors)


_SHARED: weakref.WeakValueDictionary[tuple[tuple[str, str], ...], SeverityModel] = (
    weakref.WeakValueDictionary()
)
_SHARED_LOCK = threading.Lock()


def shared_severity_model(examples: Sequence[SeverityExample]) -> SeverityModel:
    """The model of these examples, trained once per process while anyone holds it.

    Most clients keep the shipped `_severity/` set: a fleet worker serving dozens of them trained
    (~0.1 s each, at its start) and held (several MB each) one identical model per client. The model
    depends on the texts and labels alone (not on the files they came from), so that is the key."""
    key = tuple((example.text, example.label) for example in examples)
    with _SHARED_LOCK:  # held while training: two clients starting together train once
        model = _SHARED.get(key)
        if model is None:
            model = train_severity(examples)
            _SHARED[key] = model
    return model


def build_pipeline() -> Pipeline:
    """The article classifier's features (model.py), kept separate so tuning one never moves the other.

    Class weights are balanced: the agency may keep more examples of one class than of another.
    """
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)
    words = TfidfVectorizer(
        analyzer="word", ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"(?u)\b\w+\b"
    )
    features = FeatureUnion([("chars", chars), ("words", words)])
    return Pipeline([("features", features), ("svm", LinearSVC(class_weight="balanced", random_state=0))])
