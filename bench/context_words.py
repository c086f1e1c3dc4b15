"""How the answer rate holds up when a customer writes more than the question (found in session 15).

Real mails say more than the question: that they are long-standing customers, which phone they use,
that it is not urgent. This adds 0 to 6 such sentences (neutral: they change nothing about what is
asked; bench/throughput.py's `DETAILS`, German or English as the question) to every example question of
the shipped knowledge base, classifies them with the model trained on that knowledge base, and prints
per number of sentences: the share answered (confident), the precision of those answers, and how often
the top article alone is right. The examples were seen in training, so every figure is an upper bound.

    .venv/bin/python bench/context_words.py
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.throughput import DETAILS
from mailbot.classify.model import train
from mailbot.classify.normalise import classification_text
from mailbot.kb import load_knowledge_base
from mailbot.paths import SHIPPED_KNOWLEDGE_BASE

MAX_SENTENCES = 6


def main() -> None:
    kb = load_knowledge_base(SHIPPED_KNOWLEDGE_BASE)
    classifier = train(kb)
    questions = [
        (article.id, example, article.language.value)
        for article in kb.articles
        for example in article.examples
    ]
    print(
        f"{len(questions)} example questions of the shipped KB, model {classifier.version}, "
        f"threshold {classifier.threshold:.3f}"
    )
    print("| sentences of context | answered | precision of the answers | top article right |")
    print("|---:|---:|---:|---:|")
    for count in range(MAX_SENTENCES + 1):
        rng = random.Random(count)
        texts = [
            classification_text("", " ".join([example, *rng.sample(DETAILS[language], count)]))
            for _article, example, language in questions
        ]
        predictions = classifier.predict_texts(texts)
        answered = [
            (p, article) for p, (article, _e, _l) in zip(predictions, questions, strict=True) if p.confident
        ]
        right = sum(1 for p, article in answered if p.article_id == article)
        top = sum(
            1 for p, (article, _e, _l) in zip(predictions, questions, strict=True) if p.article_id == article
        )
        precision = f"{right / len(answered):.1%}" if answered else "-"
        print(
            f"| {count} | {len(answered) / len(questions):.1%} | {precision} | {top / len(questions):.1%} |"
        )


if __name__ == "__main__":
    main()
