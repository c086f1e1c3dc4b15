"""A first classifier: character n-gram TF-IDF and logistic regression over the articles' examples.

Character n-grams cope with German compounds, umlaut spellings and typos without a stemmer. The
confidence is the top class probability; below the configured threshold the mail escalates.
"""

from __future__ import annotations

from dataclasses import dataclass

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from mailbot.classify.normalise import classification_text, normalise
from mailbot.domain import Prediction
from mailbot.kb import KnowledgeBase

MODEL_NAME = "tfidf-char-lr-1"
RANKING_SIZE = 3


@dataclass(frozen=True)
class Classifier:
    pipeline: Pipeline | None  # None when the knowledge base has fewer than two topics
    labels: tuple[str, ...]
    threshold: float
    version: str

    def predict(self, subject: str, body: str) -> Prediction:
        if self.pipeline is None:
            only = self.labels[0] if self.labels else None
            return Prediction(only, 0.0, self.threshold, (), self.version)
        probabilities = self.pipeline.predict_proba([classification_text(subject, body)])[0]
        order = probabilities.argsort()[::-1][:RANKING_SIZE]
        classes = self.pipeline.classes_
        ranking = tuple((str(classes[i]), round(float(probabilities[i]), 4)) for i in order)
        best, confidence = ranking[0]
        return Prediction(best, confidence, self.threshold, ranking, self.version)


def train(kb: KnowledgeBase, threshold: float) -> Classifier:
    """Fit on every example (and the title) of every article; deterministic for the same KB."""
    texts: list[str] = []
    labels: list[str] = []
    for article in kb.articles:
        for example in (article.title, *article.examples):
            texts.append(normalise(example))
            labels.append(article.id)
    version = f"{MODEL_NAME}:{kb.digest[:12]}"
    distinct = tuple(sorted(set(labels)))
    if len(distinct) < 2:
        return Classifier(None, distinct, threshold, version)
    pipeline = Pipeline(
        [
            ("tfidf", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
            ("lr", LogisticRegression(C=20.0, max_iter=2000)),
        ]
    )
    pipeline.fit(texts, labels)
    return Classifier(pipeline, distinct, threshold, version)
