"""Incident grouping and status-question detection: pure functions, no database."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import cosine_similarity

from mailbot.classify.severity import load_severity_examples
from mailbot.paths import SHIPPED_KNOWLEDGE_BASE
from mailbot.tickets import incidents
from mailbot.tickets.incidents import Candidate, pick_parent, signal_names, similarities
from mailbot.tickets.status_query import is_status_request

CRASH_ALL = ('signal: "stürzt ab" (crash)', 'signal: "bei allen" (all users affected)')
OUTAGE = "Seit dem Update stürzt die App bei allen Nutzern beim Start ab, niemand kann buchen."


def test_a_similar_report_of_the_same_severity_joins_the_root_of_the_incident():
    candidates = [
        Candidate(1, None, "critical", OUTAGE, signal_names(CRASH_ALL)),
        Candidate(
            2, 1, "critical", "Die App stürzt bei allen Nutzern seit dem Update ab.", signal_names(CRASH_ALL)
        ),
    ]
    picked = pick_parent(
        "Seit dem Update stürzt die App bei allen beim Start ab.", "critical", candidates, 0.5
    )
    assert picked is not None and picked[0] == 1  # joins the parent, never a child


def test_the_same_signals_group_reports_in_different_languages():
    english_reasons = ('signal: "crashes" (crash)', 'signal: "all users" (all users affected)')
    candidates = [Candidate(7, None, "critical", OUTAGE, signal_names(CRASH_ALL))]
    text = "Since the update the app crashes for all users at start."
    assert pick_parent(text, "critical", candidates, 0.5, english_reasons) == (7, 1.0)


def test_different_severity_questions_and_unrelated_faults_do_not_group():
    candidates = [Candidate(1, None, "critical", OUTAGE, signal_names(CRASH_ALL))]
    assert pick_parent(OUTAGE, "major", candidates, 0.5) is None
    assert pick_parent(OUTAGE, None, candidates, 0.5) is None
    one_signal = ('signal: "stürzt ab" (crash)',)
    assert (
        pick_parent("Beim Export der Statistik stürzt es ab.", "critical", candidates, 0.5, one_signal)
        is None
    )


@pytest.mark.parametrize("count", [1, 2, 7, 60])
def test_text_similarity_is_the_tf_idf_cosine_fitted_on_the_report_and_its_candidates(count):
    """Hashed counts and an IDF counted per call give what the TfidfVectorizer fitted for every
    escalation gave (issue 13: same grouping, without the fit), whatever the number of candidates."""
    texts = [example.text for example in load_severity_examples(SHIPPED_KNOWLEDGE_BASE)]
    texts += ["", "!!", "OK", OUTAGE * 20]
    for start in range(0, len(texts), 23):
        text, others = texts[start], [texts[(start + 1 + k * 7) % len(texts)] for k in range(count)]
        fitted = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, lowercase=True)
        vectors = fitted.fit_transform([text, *others])
        expected = cosine_similarity(vectors[0], vectors[1:])[0]
        assert similarities(text, others) == pytest.approx(list(expected), abs=1e-9)


def test_similarities_stay_those_of_the_fitted_tf_idf_when_the_numbering_of_n_grams_starts_again(
    monkeypatch,
):
    """The n-grams' numbers are bounded: past the bound the cache forgets its texts and numbers anew.
    A comparison after that (and one mixing texts counted before and after) must not mix numberings."""
    monkeypatch.setattr(incidents, "_COUNTS", incidents._CountsCache(size=512, max_numbers=300))
    texts = [example.text for example in load_severity_examples(SHIPPED_KNOWLEDGE_BASE)][:40]
    for start in range(0, len(texts) - 6, 3):
        text, others = texts[start + 6], texts[start : start + 6]
        fitted = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, lowercase=True)
        vectors = fitted.fit_transform([text, *others])
        expected = cosine_similarity(vectors[0], vectors[1:])[0]
        assert similarities(text, others) == pytest.approx(list(expected), abs=1e-9)
    every_n_gram = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5)).fit(texts).vocabulary_
    assert len(incidents._COUNTS._numbering) < len(every_n_gram)  # the numbering did start again


@pytest.mark.parametrize("merge_at", [1, 7, incidents._Numbering.MERGE_AT])
def test_an_n_gram_keeps_its_number_and_new_ones_are_numbered_in_turn(merge_at: int) -> None:
    numbering = incidents._Numbering()
    numbering.MERGE_AT = merge_at  # new n-grams go into the sorted arrays after so many
    assert numbering.of(np.array([5, 9, 2**27])).tolist() == [0, 1, 2]
    assert numbering.of(np.array([1, 9, 2**27 + 1])).tolist() == [3, 1, 4]
    assert numbering.of(np.array([1, 5, 2**28 - 1])).tolist() == [3, 0, 5]
    assert numbering.of(np.array([], dtype=np.int64)).tolist() == []
    assert len(numbering) == 6
    seen = {5: 0, 9: 1, 2**27: 2, 1: 3, 2**27 + 1: 4, 2**28 - 1: 5}  # and on as a dict would number them
    rng = np.random.default_rng(merge_at)
    for _ in range(200):
        buckets = np.unique(rng.integers(0, 3000, rng.integers(0, 60)))
        expected = [seen.setdefault(bucket, len(seen)) for bucket in buckets.tolist()]
        assert numbering.of(buckets).tolist() == expected
    assert len(numbering) == len(seen)


def test_signal_names_of_stored_reasons_are_those_of_the_decoded_list():
    stored = json.dumps([*CRASH_ALL, 'words: "absturz"', "closest example: ..."])
    assert incidents.stored_signal_names(stored) == signal_names(CRASH_ALL)
    for broken in (None, "", "null", "{}", "[1, 2", '"signal: \\"x\\" (crash)"'):
        assert incidents.stored_signal_names(broken) == frozenset()
    assert incidents.stored_signal_names(json.dumps([7, CRASH_ALL[0]])) == {"crash"}


def test_signal_names_ignore_other_reasons():
    assert signal_names([*CRASH_ALL, 'words: "absturz"']) == {"crash", "all users affected"}


@pytest.mark.parametrize(
    "body",
    [
        "Status?",
        "Gibt es Neuigkeiten?",
        "Wie ist der Stand?",
        "Any update on this?",
        "When will it be fixed?",
    ],
)
def test_short_status_questions_are_recognised(body):
    assert is_status_request(body)


@pytest.mark.parametrize(
    "body",
    [
        "Die App stürzt immer noch ab, anbei ein Screenshot.",
        "Danke, jetzt geht es wieder!",
        "",
        "Status? "
        + "Ich habe außerdem noch viele weitere Details zu dem Fehler, die Ihnen helfen könnten. " * 3,
    ],
)
def test_replies_with_news_are_not_status_questions(body):
    assert not is_status_request(body)


def test_grouping_never_imports_scikit_learn() -> None:
    """A worker deciding a backlog groups faults without scikit-learn (~0.9 s of CPU to import; its
    models live in the parsing process), and commands that group nothing do not pay for it either."""
    script = (
        "import sys\n"
        "from mailbot.tickets import incidents\n"
        "print(incidents.similarities('Die App stürzt ab', ['Die App stürzt immer ab', 'Rechnung']))\n"
        "print('sklearn' in sys.modules)\n"
    )
    shown = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    scores, imported = shown.splitlines()
    assert scores.startswith("[0.") and imported == "False"


@pytest.mark.parametrize(
    "text",
    [
        "Die App stürzt seit dem Update ab!",
        "  leading and   trailing\t\twhite\n\nspace  ",
        "a bb ccc dddd eeeee ffffff",  # words shorter than, as long as and longer than an n-gram
        "ÄÖÜ straße İstanbul ǅemal ΣΊΣΥΦΟΣ",  # lowercasing beyond ASCII
        "x\u00a0y\u2003z\u200bw",  # no-break, em and zero-width spaces
        "a\x1cb\x85c\u2028\u2028d",  # separators str.split and re's \s both count as white space
        "https://example.org/a?b=c&d=e, ticket MB-12345678; 12:30",
        "",
        "   ",
        "\U0001f600 emoji \U0001f600\U0001f600",
    ],
)
def test_n_grams_are_those_of_scikit_learns_char_wb_analyzer(text: str) -> None:
    analyzer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), lowercase=True).build_analyzer()
    assert incidents.char_ngrams(text) == analyzer(text)


def test_n_grams_of_real_mails_are_those_of_scikit_learns_char_wb_analyzer() -> None:
    analyzer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), lowercase=True).build_analyzer()
    texts = [example.text for example in load_severity_examples(SHIPPED_KNOWLEDGE_BASE)]
    assert texts
    for text in texts:
        assert incidents.char_ngrams(text) == analyzer(text)
