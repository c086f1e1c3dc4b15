"""Mails that ask two things: how often one confident answer would leave a question open, and what
`decide()`'s check of the questions one by one (`mailbot/classify/questions.py`) catches.

Mails are made of two held-out questions (same language, each ending in "?"):
- two articles: questions of two different articles (one answer is wrong for one of them);
- one article: two questions of the same article (one answer is right);
- with a follow-up: one question and a follow-up without a topic of its own ("Geht das auch in der
  App?"), which must not count as a second topic.
For each level of `OTHER_TOPIC` (a question is about another article when that article is its best
at this confidence or more): the share of the mails the check escalates, among all mails and among
those the whole-mail classifier would have answered.

Default: the shipped knowledge base, its examples split in two by a hash; the classifier trains on one
half but answers at the threshold the whole KB gives (the half's own threshold answers almost nothing).
`--set clinc150_full`: a public set (English, 150 intents, 14988 examples), its validation questions
as the held-out ones; build it first with `.venv/bin/python -m bench.datasets clinc150_full`.

Run: `.venv/bin/python bench/multi_question.py [--set clinc150_full]`
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import random
from dataclasses import replace
from pathlib import Path

from mailbot.classify.model import Classifier, train
from mailbot.classify.normalise import classification_text
from mailbot.classify.questions import question_segments
from mailbot.decide import other_topic
from mailbot.domain import Language, Prediction
from mailbot.kb import KnowledgeBase, load_knowledge_base

ROOT = Path(__file__).resolve().parents[1]
LEVELS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
MAX_PAIRS = 1500
Tests = dict[tuple[str, Language], list[str]]
FOLLOW_UPS = {
    Language.DE: (
        "Geht das auch in der App?",
        "Kann ich das auch am PC machen?",
        "Wie lange dauert das ungefähr?",
        "Kostet das etwas?",
        "Muss ich dafür noch etwas beachten?",
        "Können Sie mir dabei helfen?",
    ),
    Language.EN: (
        "Does that work in the app too?",
        "Can I do this on my computer as well?",
        "How long does that usually take?",
        "Does this cost anything?",
        "Is there anything else I need to know?",
        "Could you help me with that?",
    ),
}


def held_out(text: str) -> bool:
    return hashlib.sha256(text.encode()).digest()[0] % 2 == 1


def as_question(text: str) -> str:
    text = text.strip().rstrip(".!")
    return text if text.endswith("?") else f"{text}?"


def split(kb: KnowledgeBase) -> tuple[KnowledgeBase, Tests]:
    articles, tests = [], {}
    for article in kb.articles:
        kept = tuple(e for e in article.examples if not held_out(e))
        tests[(article.id, article.language)] = [as_question(e) for e in article.examples if held_out(e)]
        articles.append(replace(article, examples=kept))
    return replace(kb, articles=tuple(articles)), tests


def segments_of(classifier: Classifier, body: str) -> tuple[Prediction, ...]:
    segments = question_segments(body)
    return tuple(classifier.predict_texts([classification_text("", s) for s in segments]))


def shipped() -> tuple[Classifier, Tests]:
    full = load_knowledge_base(ROOT / "knowledge_base")
    kb, tests = split(full)
    # the half KB's own threshold is stricter (fewer examples): use the shipped model's threshold
    return replace(train(kb), threshold=train(full).threshold), tests


def benchmark_set(name: str) -> tuple[Classifier, Tests]:
    """A set built by `python -m bench.datasets NAME`: its KB, and its cases as the held-out questions."""
    folder = ROOT / "bench" / "out" / name
    tests: Tests = {}
    for line in (folder / "cases.jsonl").read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        if case.get("expected"):
            key = (case["expected"], Language(case.get("language", "en")))
            tests.setdefault(key, []).append(as_question(case["text"]))
    return train(load_knowledge_base(folder / "kb")), tests


def mails_of(tests: Tests) -> dict[str, list[str]]:
    rng = random.Random(0)
    mails: dict[str, list[str]] = {"two articles": [], "one article": [], "with a follow-up": []}
    pairs = [(a, b) for a, b in itertools.permutations(tests, 2) if a[1] == b[1] and tests[a] and tests[b]]
    for a, b in rng.sample(pairs, min(len(pairs), MAX_PAIRS)):
        mails["two articles"].append(f"{tests[a][0]} {tests[b][-1]}")
    for (_, language), questions in tests.items():
        for first, second in itertools.pairwise(questions[:4]):
            mails["one article"].append(f"{first} {second}")
        for question, follow_up in zip(questions, FOLLOW_UPS[language], strict=False):
            mails["with a follow-up"].append(f"{question} {follow_up}")
    return mails


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", help="a set of bench/out/ (e.g. clinc150_full) instead of the shipped KB")
    args = parser.parse_args()
    classifier, tests = benchmark_set(args.set) if args.set else shipped()
    print(f"threshold {classifier.threshold:.3f}, held-out questions {sum(map(len, tests.values()))}")
    header = " | ".join(f">= {level}" for level in LEVELS)
    print(f"| mails | which | n | {header} |")
    print("|" + " --- |" * (3 + len(LEVELS)))
    for kind, bodies in mails_of(tests).items():
        judged = [(classifier.predict("", body), segments_of(classifier, body)) for body in bodies]
        subsets = {"all": judged, "answered whole": [(w, q) for w, q in judged if w.confident]}
        for which, subset in subsets.items():
            shares = []
            for level in LEVELS:
                caught = sum(1 for whole, parts in subset if other_topic(whole, parts, level) is not None)
                shares.append(f"{caught / max(len(subset), 1):.2f}")
            print(f"| {kind} | {which} | {len(subset)} | {' | '.join(shares)} |")


if __name__ == "__main__":
    main()
