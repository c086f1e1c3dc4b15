"""What learning from agents does: replay a mail history month by month (issue 14, `mailbot kb learn`).

No public data set under ../shared/data has dates (their READMEs: CLINC150, BANKING77, the support
tickets, xSID carry none), so the history is synthetic, seeded and documented:
- Data: CLINC150 `data_full` (CC BY 3.0): 150 English intents, 100 training texts each, `val` (3000)
  and `oos_val` (100) held out; the test split stays untouched (held back by the project).
- Knowledge base at the start: per intent the first SEED_EXAMPLES training texts (a client writes 10
  to 15 per article, knowledge_base/README.md), and the first half of `oos_train` as `_out_of_scope.md`.
- The mail: the remaining training texts of every intent plus the other half of `oos_train`, shuffled
  together in a seeded order (random.Random(SEED)); mail i of the stream arrives in month
  i // --mails (default 500 a month, 6 months: 3000 of the 13,550 texts). A uniform mix, not a
  Zipf-like one: drawn without replacement, frequent topics would run out of texts and later months
  would shift to rare ones, an artefact of the data, not of learning.
- Each month, the model trained on the knowledge base as it stands (mailbot's own `train`, at
  [classifier] target_precision 0.97 and out_of_scope_share 0.2, as the worker does) decides the month's
  mail. The in-scope mails it escalates are answered by an "agent" with the true intent, the customer
  stays quiet, and the agent accepts them: the example text is `mailbot kb learn`'s
  (mailbot.reports.learn_text.example_text) and it is written with its writer
  (mailbot.kb.learn_write.add_example); an example another topic already has is skipped, as `kb learn`
  refuses it. Out-of-scope mail the model escalates is right and teaches nothing; one it answers is
  counted in the month's precision.
- Figures per month: the month's own mail (answered automatically = coverage of in-scope mail, and
  precision of what was answered) and the held-out split (CLINC150 val + oos_val, as
  `mailbot evaluate` computes it, plus precision at the test split's mix, as bench/quality.py does).
  The last row ("after") is the model trained on everything learned, on the held-out split.
  `best cov@0.97`: the held-out coverage the model would reach at 0.97 precision (test mix) with the
  threshold chosen on the held-out split itself: the model's quality apart from how carefully training
  chose its threshold (an upper bound, not an operating figure).
Usage: .venv/bin/python bench/learning_replay.py [--months 6] [--mails 500] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.datasets import DATA, OUT
from bench.datasets.clinc150 import FULL, load
from bench.datasets.writer import ArticleSpec, Case, Dataset, slugify, write_dataset
from mailbot.classify.evaluate import evaluate
from mailbot.classify.normalise import classification_text
from mailbot.kb import check_knowledge_base, load_knowledge_base
from mailbot.kb.crosscheck import normalise_example
from mailbot.kb.learn_write import add_example
from mailbot.reports.learn_text import example_text

SEED = 14
SEED_EXAMPLES = 10
TARGET_PRECISION = 0.97
TEST_MIX = (4500, 1000)  # CLINC150 test split: in scope, out of scope (bench/quality.py)


@dataclass(frozen=True)
class Mail:
    text: str
    intent: str | None  # None: out of scope


def stream(pool: dict[str, list[str]], oos: list[str], count: int, rng: random.Random) -> list[Mail]:
    """`count` mails in a seeded random order: every remaining in-scope text and the out-of-scope
    ones, shuffled together (so each month has the held-out split's mix of topics)."""
    mails = [Mail(text, intent) for intent, texts in sorted(pool.items()) for text in texts]
    mails += [Mail(text, None) for text in oos]
    rng.shuffle(mails)
    return mails[:count]


def held_out_figures(summary: dict, outcomes: Sequence) -> dict[str, float | None]:
    """`mailbot evaluate`'s figures, plus answered precision at the test split's mix."""
    in_scope = [o for o in outcomes if o.case.expected is not None]
    out_scope = [o for o in outcomes if o.case.expected is None]
    w_in, w_out = TEST_MIX[0] / max(1, len(in_scope)), TEST_MIX[1] / max(1, len(out_scope))
    answered = sum(w_in for o in in_scope if o.predicted) + sum(w_out for o in out_scope if o.predicted)
    right = sum(w_in for o in in_scope if o.predicted and o.predicted == o.case.expected)
    return {
        "coverage": summary["coverage"],
        "answered_precision": summary["answered_precision"],
        "oos_recall": summary["oos_recall"],
        "test_mix_precision": right / answered if answered else None,
        "threshold": summary["threshold"],
        "best_coverage_at_target": best_coverage(outcomes, w_in, w_out),
    }


def best_coverage(outcomes: Sequence, w_in: float, w_out: float) -> float:
    """What the model could cover on the held-out split at TARGET_PRECISION (at the test mix) with the
    best threshold for it: the model's quality, apart from how carefully training chose its threshold."""
    ranked = sorted(outcomes, key=lambda o: -o.prediction.confidence)
    in_total = sum(o.case.expected is not None for o in outcomes)
    answered = right = best = 0.0
    covered = 0
    for o in ranked:
        if o.prediction.confidence <= 0:
            break
        weight = w_in if o.case.expected is not None else w_out
        answered += weight
        if o.prediction.article_id == o.case.expected:
            right += weight
        covered += o.case.expected is not None
        if right / answered >= TARGET_PRECISION:
            best = max(best, covered / in_total)
    return best


def replay(months: int, per_month: int, out: Path) -> list[dict]:
    data = load(DATA / "clinc150" / FULL)
    by_intent: dict[str, list[str]] = {}
    for text, label in data["train"]:
        by_intent.setdefault(slugify(label), []).append(text)
    half = len(data["oos_train"]) // 2
    oos_texts = [text for text, _ in data["oos_train"]]
    held_out = [Case(f"val-{n}", t, slugify(label), "en") for n, (t, label) in enumerate(data["val"], 1)]
    held_out += [Case(f"oos-{n}", t, None, "en") for n, (t, _) in enumerate(data["oos_val"], 1)]
    seed_kb = Dataset(
        name="learning_replay",
        language="en",
        articles=[ArticleSpec(i, i, tuple(texts[:SEED_EXAMPLES])) for i, texts in by_intent.items()],
        oos_examples=oos_texts[:half],
        cases=held_out,
    )
    write_dataset(seed_kb, out)
    kb_dir, cases = out / "kb", out / "cases.jsonl"
    rng = random.Random(SEED)
    pool = {intent: texts[SEED_EXAMPLES:] for intent, texts in by_intent.items()}
    mails = stream(pool, oos_texts[half:], months * per_month, rng)
    owners = _owners(kb_dir)
    rows = []
    for month in range(months + 1):
        started = time.perf_counter()
        run = evaluate(kb_dir, cases, target_precision=TARGET_PRECISION)
        kb = load_knowledge_base(kb_dir)
        row: dict = {
            "month": f"M{month + 1}" if month < months else "after",
            "kb_examples": sum(len(a.examples) for a in kb.articles),
            "held_out": held_out_figures(run.summary, run.outcomes),
        }
        if month < months:
            batch = mails[month * per_month : (month + 1) * per_month]
            row["mail"] = _month(batch, run.classifier, kb_dir, owners)
            problems = check_knowledge_base(kb_dir)
            assert not problems, problems[:3]  # what kb learn writes always passes kb check
        row["seconds"] = round(time.perf_counter() - started, 1)
        rows.append(row)
        print(_line(row), flush=True)
    return rows


def _owners(kb_dir: Path) -> dict[str, str]:
    kb = load_knowledge_base(kb_dir)
    owners = {normalise_example(e): a.id for a in kb.articles for e in a.examples}
    if kb.out_of_scope is not None:
        owners |= {normalise_example(e): kb.out_of_scope.id for e in kb.out_of_scope.examples}
    return owners


def _month(batch: list[Mail], classifier, kb_dir: Path, owners: dict[str, str]) -> dict:  # type: ignore[no-untyped-def]
    predictions = classifier.predict_texts([classification_text("", mail.text) for mail in batch])
    in_scope = answered = right = learned = skipped = 0
    for mail, prediction in zip(batch, predictions, strict=True):
        confident = prediction.confident and prediction.article_id is not None
        in_scope += mail.intent is not None
        if confident:
            answered += 1
            right += prediction.article_id == mail.intent
            continue
        if mail.intent is None:
            continue  # escalated out-of-scope mail: right, and nothing to learn
        text = example_text("", mail.text)
        key = normalise_example(text)
        if key in owners:
            skipped += 1  # another topic has it (kb learn refuses it), or this one has it already
            continue
        add_example(kb_dir / f"{mail.intent}.md", text)
        owners[key] = mail.intent
        learned += 1
    covered = sum(
        1 for mail, p in zip(batch, predictions, strict=True) if mail.intent is not None and p.confident
    )
    return {
        "mails": len(batch),
        "in_scope": in_scope,
        "coverage": covered / in_scope if in_scope else None,
        "answered_precision": right / answered if answered else None,
        "learned": learned,
        "skipped": skipped,
    }


def _fmt(value: float | None) -> str:
    return "  -  " if value is None else f"{value:.3f}"


def _line(row: dict) -> str:
    held = row["held_out"]
    mail = row.get("mail")
    own = (
        f"mail {mail['mails']:>4} cov {_fmt(mail['coverage'])} prec {_fmt(mail['answered_precision'])}"
        f" learned {mail['learned']:>4}"
        if mail
        else f"{'':<48}"
    )
    return (
        f"{row['month']:<6} examples {row['kb_examples']:>5} | {own} | held-out cov {_fmt(held['coverage'])}"
        f" prec {_fmt(held['answered_precision'])} prec@mix {_fmt(held['test_mix_precision'])}"
        f" oos_recall {_fmt(held['oos_recall'])} thr {held['threshold']:.3f}"
        f" best cov@{TARGET_PRECISION} {_fmt(held['best_coverage_at_target'])} | {row['seconds']} s"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--mails", type=int, default=500, help="mails per month")
    parser.add_argument("--json", type=Path, default=OUT / "learning_replay.json")
    args = parser.parse_args(argv)
    rows = replay(args.months, args.mails, OUT / "learning_replay")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
