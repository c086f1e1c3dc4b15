"""Topics among a client's unanswered mail, and whether the knowledge base lacks them: pure, no I/O.

The method (docs/metrics.md, "Knowledge-base gaps"; after Zendesk's Content Cues): mails and articles
as vectors in one TF-IDF space (word 1-2-grams and char_wb 3-5-grams over `gap_text.topic_words`, so
that German compounds and typos still meet); agglomerative clustering with average linkage on cosine
distance (computed once on the sparse rows), which needs no number of clusters and no random seed;
clusters of at least `min_size` mails from at least `min_senders` senders are kept, every other mail
is a one-off. A cluster is named by
c-TF-IDF (BERTopic's class-based weighting) and titled by its medoid's subject; its centroid's best
cosine to an article decides "new" (below `new_below`) or "extend" that article.

Deterministic and independent of the input's order: mails are sorted by inbound id before anything
else, and every tie is broken by id or by term.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix, hstack
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from mailbot.reports.gap_model import (
    EXTEND,
    NEW,
    ArticleText,
    Cluster,
    GapAnalysis,
    GapMail,
    GapSettings,
)
from mailbot.reports.gap_text import quote, topic_words

# share of the word n-grams in a vector (the rest: character n-grams). Measured on the planted mails of
# tests/unit/test_kb_gaps.py: at 0.3 the adjusted Rand index is 1.0 for distances 0.8-0.95, at 0.5 at
# most 0.92 (paraphrases share a topic's word stem more often than the word: "Gutschein eingelöst",
# "Gutscheine", "Gutscheincode")
WORD_WEIGHT = 0.3
DEFAULT_SETTINGS = GapSettings()


def find_gaps(
    mails: Sequence[GapMail],
    articles: Sequence[ArticleText],
    start: datetime,
    end: datetime,
    settings: GapSettings = DEFAULT_SETTINGS,
) -> GapAnalysis:
    """The topics of `mails` (arrived in [start, end)) and how near each is to an article."""
    ordered = sorted(mails, key=lambda mail: mail.inbound_id)
    if not ordered:
        return GapAnalysis((), ())
    words = [topic_words(mail.subject, mail.text) for mail in ordered]
    article_words = [topic_words("", article.text) for article in articles]
    vectors, article_vectors = _vectors(words, article_words)
    labels = _labels(vectors, settings.distance)
    groups = _kept_groups(ordered, labels, settings)
    middle = start + (end - start) / 2
    clusters = [
        _cluster(ordered, indexes, vectors, article_vectors, articles, middle, settings) for indexes in groups
    ]
    _name(clusters, groups, words, settings.top_terms)
    named = list(clusters)
    clustered = {member for cluster in named for member in cluster.members}
    one_offs = tuple(mail.inbound_id for mail in ordered if mail.inbound_id not in clustered)
    named.sort(key=lambda cluster: (-len(cluster.members), cluster.members[0]))
    return GapAnalysis(tuple(named), one_offs)


def _vectors(words: list[str], article_words: list[str]) -> tuple[csr_matrix, csr_matrix]:
    """L2-normalised sparse rows of mails and articles, fitted together so that both share one space."""
    corpus = words + article_words
    # min_df=2: an n-gram of one text only adds length to its vector and similarity to nothing
    word_tfidf = TfidfVectorizer(
        analyzer="word", ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"\S+", min_df=2
    )
    char_tfidf = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=2)
    parts = [_fitted(word_tfidf, corpus) * WORD_WEIGHT, _fitted(char_tfidf, corpus) * (1 - WORD_WEIGHT)]
    joined = normalize(hstack(parts).tocsr())
    return joined[: len(words)], joined[len(words) :]


def _fitted(vectorizer: TfidfVectorizer, corpus: list[str]) -> csr_matrix:
    """Normalised rows; an all-zero column when no n-gram occurs twice (a tiny or empty corpus)."""
    try:
        return normalize(vectorizer.fit_transform(corpus))
    except ValueError:  # "empty vocabulary" / "no terms remain": nothing to compare by
        return csr_matrix((len(corpus), 1))


def _labels(vectors: csr_matrix, distance: float) -> list[int]:
    """A cluster label per row. Cosine distances are computed once on the sparse rows and passed as
    precomputed (the same as metric="cosine" without a dense copy of every n-gram column); a row
    without any n-gram has no direction and gets a label of its own."""
    filled = [index for index in range(vectors.shape[0]) if vectors.indptr[index + 1] > vectors.indptr[index]]
    labels = list(range(vectors.shape[0]))  # every row its own, until clustered
    if len(filled) < 2:
        return labels
    rows = vectors[filled]
    distances = np.clip(1.0 - (rows @ rows.T).toarray(), 0.0, 2.0)
    np.fill_diagonal(distances, 0.0)
    model = AgglomerativeClustering(
        n_clusters=None, distance_threshold=distance, metric="precomputed", linkage="average"
    )
    offset = vectors.shape[0]
    for index, label in zip(filled, model.fit_predict(distances), strict=True):
        labels[index] = offset + int(label)
    return labels


def _kept_groups(ordered: Sequence[GapMail], labels: list[int], settings: GapSettings) -> list[list[int]]:
    """Indexes of each cluster big enough and from enough senders, in order of their first member."""
    groups: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        groups.setdefault(label, []).append(index)
    kept = []
    for indexes in groups.values():
        senders = {ordered[i].sender for i in indexes if ordered[i].sender}
        counted = any(ordered[i].sender for i in indexes)
        if len(indexes) >= settings.min_size and (not counted or len(senders) >= settings.min_senders):
            kept.append(indexes)
    return sorted(kept, key=lambda indexes: indexes[0])


def _cluster(
    ordered: Sequence[GapMail],
    indexes: list[int],
    vectors: csr_matrix,
    article_vectors: csr_matrix,
    articles: Sequence[ArticleText],
    middle: datetime,
    settings: GapSettings,
) -> Cluster:
    """The cluster of the rows `indexes`. Its mails are ranked by cosine to the centroid: with unit
    rows that is the ranking by summed similarity to all members, so the first is the medoid."""
    members = vectors[indexes]
    centroid = np.asarray(members.mean(axis=0)).ravel()
    norm = float(np.linalg.norm(centroid))
    centroid = centroid / norm if norm else centroid
    closeness = members @ centroid
    nearest = sorted(range(len(indexes)), key=lambda i: (-round(float(closeness[i]), 9), indexes[i]))
    mails = [ordered[indexes[i]] for i in nearest]
    article_id, similarity = _nearest_article(centroid, article_vectors, articles)
    languages = Counter(mail.language or "de" for mail in mails)
    language = sorted(languages.items(), key=lambda item: (-item[1], item[0]))[0][0]
    return Cluster(
        members=tuple(sorted(mail.inbound_id for mail in mails)),
        terms=(),
        title=quote("", mails[0].subject.strip() or mails[0].text, 80),
        language=language,
        representatives=tuple(mails[: settings.representatives]),
        verdict=NEW if article_id is None or similarity < settings.new_below else EXTEND,
        article_id=article_id,
        similarity=round(similarity, 3),
        first_half=sum(1 for mail in mails if mail.arrived_at < middle),
        second_half=sum(1 for mail in mails if mail.arrived_at >= middle),
    )


def _nearest_article(
    centroid: NDArray[np.float64], article_vectors: csr_matrix, articles: Sequence[ArticleText]
) -> tuple[str | None, float]:
    """The article id most similar to `centroid` (over all its languages' texts) and the cosine."""
    if not articles:
        return None, 0.0
    similarities = article_vectors @ centroid
    best = max(range(len(articles)), key=lambda i: (round(float(similarities[i]), 9), -i))
    return articles[best].article_id, float(similarities[best])


def _name(clusters: list[Cluster], groups: list[list[int]], words: list[str], top: int) -> None:
    """Put each cluster's c-TF-IDF top terms into it (in place).

    W(x, c) = tf(x, c) / |c| · log(1 + A / f(x)): tf over the cluster's words, |c| its word count, A the
    average word count per class, f(x) the frequency of x over all classes; the mails in no cluster are
    one more class, so that a word common everywhere weighs little. Terms of one or two letters and
    numbers are left out.
    """
    clustered = {index for indexes in groups for index in indexes}
    rest = [index for index in range(len(words)) if index not in clustered]
    classes = [Counter(w for i in indexes for w in words[i].split() if len(w) > 2) for indexes in groups]
    everything = [*classes, Counter(w for i in rest for w in words[i].split() if len(w) > 2)]
    frequency: Counter[str] = Counter()
    for counts in everything:
        frequency.update(counts)
    average = sum(sum(counts.values()) for counts in everything) / len(everything)
    for position, counts in enumerate(classes):
        size = sum(counts.values()) or 1
        weights = {
            term: count / size * math.log(1 + average / frequency[term]) for term, count in counts.items()
        }
        best = sorted(weights.items(), key=lambda item: (-round(item[1], 9), item[0]))[:top]
        clusters[position] = replace(clusters[position], terms=tuple((t, round(w, 4)) for t, w in best))
