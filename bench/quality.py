"""Answer quality on public benchmarks: one `mailbot evaluate` per data set, one table for all.

Builds missing sets (`python -m bench.datasets`), runs the real command as a subprocess (so the figures
are exactly what a user gets), adds figures the command cannot know (ID-OOS vs OOD-OOS recall from the
predictions file) and writes everything to bench/out/quality.json. Sets kept in the repository
(`aktivo_severity`: the shipped KB and bench/severity/cases.jsonl; `aktivo_severity_independent`: the same
KB and bench/severity/independent.jsonl) are evaluated in place.
Usage: .venv/bin/python bench/quality.py [names...] [--rebuild] [--mailbot CMD]
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.datasets import DATA, LOCAL_SETS, OUT, ROOT, SETS, build

EMAIL_SET, PLAIN_SET = "clinc150_full_email", "clinc150_full"
# the operating precision each set is judged at (issue 3); every other set runs at the default 0.97
TARGET_PRECISION = {"banking77_oos": 0.93}
# in-scope and out-of-scope cases of each set's held-back test split, as its README in ../shared/data
# gives them: validation has far fewer out-of-scope cases (CLINC150 3 %, test 18 %), so its answered
# precision flatters; `test_mix_precision` weights the validation cases to the test split's mix
TEST_MIX = {
    "clinc150_full": (4500, 1000),
    "clinc150_small": (4500, 1000),
    "clinc150_full_email": (4500, 1000),
    "banking77_oos": (2000, 2080),
}
COLUMNS = [  # (header, key in the row, format)
    ("set", "set", "{}"),
    ("cases", "cases", "{}"),
    ("in/out", "in_out", "{}"),
    ("argmax_acc", "argmax_accuracy", "{:.3f}"),
    ("in_scope_acc", "in_scope_accuracy", "{:.3f}"),
    ("coverage", "coverage", "{:.3f}"),
    ("oos_recall", "oos_recall", "{:.3f}"),
    ("answered_prec", "answered_precision", "{:.3f}"),
    ("prec@test_mix", "test_mix_precision", "{:.3f}"),
    ("threshold", "threshold", "{:.3f}"),
    ("train_s", "train_seconds", "{:.1f}"),
    ("ms/case", "predict_ms_per_case", "{:.2f}"),
    ("model", "model_size", "{}"),
    ("id_oos_recall", "id_oos_recall", "{:.3f}"),
    ("ood_oos_recall", "ood_oos_recall", "{:.3f}"),
    ("sev_macro_f1", "severity_macro_f1", "{:.3f}"),
]


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def parse_report(stdout: str) -> dict:
    """The JSON object of `evaluate --json`; tolerates stray lines before it (e.g. a library warning)."""
    try:
        return json.loads(stdout)
    except json.JSONDecodeError:
        start = stdout.find("{")
        if start < 0:
            raise
        return json.loads(stdout[start:])


def precision_at_test_mix(cases: list[dict], by_id: dict[str, dict], mix: tuple[int, int]) -> float | None:
    """Answered precision with each validation case counted as often as its kind (in scope or out of
    scope) occurs in the test split: what the same threshold would likely give there."""
    in_scope = [case for case in cases if case["expected"] is not None and case["id"] in by_id]
    out_of_scope = [case for case in cases if case["expected"] is None and case["id"] in by_id]
    if not in_scope or not out_of_scope:
        return None
    weight = {True: mix[0] / len(in_scope), False: mix[1] / len(out_of_scope)}
    right = answered = 0.0
    for case in in_scope + out_of_scope:
        predicted = by_id[case["id"]]["predicted"]
        if predicted is not None:
            answered += weight[case["expected"] is not None]
            right += weight[case["expected"] is not None] * (predicted == case["expected"])
    return right / answered if answered else None


def extra_figures(cases: list[dict], predictions: list[dict], name: str = "") -> dict[str, float]:
    """Figures from the predictions file: recall per out-of-scope kind, precision at the test split's
    mix, and argmax accuracy as a check."""
    by_id = {prediction["id"]: prediction for prediction in predictions}
    figures: dict[str, float] = {}
    if name in TEST_MIX and (mixed := precision_at_test_mix(cases, by_id, TEST_MIX[name])) is not None:
        figures["test_mix_precision"] = mixed
    for kind in sorted({case["oos_kind"] for case in cases if case.get("oos_kind")}):
        ids = [case["id"] for case in cases if case.get("oos_kind") == kind and case["id"] in by_id]
        if ids:
            figures[f"{kind}_oos_recall"] = sum(by_id[i]["predicted"] is None for i in ids) / len(ids)
    in_scope = [case for case in cases if case["expected"] is not None and case["id"] in by_id]
    if in_scope:
        right = sum(by_id[case["id"]].get("top_article") == case["expected"] for case in in_scope)
        figures["argmax_accuracy_from_predictions"] = right / len(in_scope)
    return figures


def human_size(size: int | None) -> str:
    if size is None:
        return "-"
    return f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"


def evaluate(name: str, command: list[str]) -> dict:
    """Run `mailbot evaluate` on one set; its JSON plus our extra figures, or the error."""
    folder = OUT / name
    kb, cases = LOCAL_SETS.get(name, (folder / "kb", folder / "cases.jsonl"))
    folder.mkdir(parents=True, exist_ok=True)
    predictions = folder / "predictions.jsonl"
    predictions.unlink(missing_ok=True)
    argv = [*command, "evaluate", "--kb", str(kb), "--cases", str(cases), "--json"]
    argv += ["--predictions", str(predictions)]
    if name in TARGET_PRECISION:
        argv += ["--target-precision", str(TARGET_PRECISION[name])]
    print(f"== {name}: {shlex.join(argv)}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False)  # stderr: progress
    result: dict = {"command": shlex.join(argv), "wall_seconds": round(time.perf_counter() - started, 2)}
    if done.returncode != 0:
        return result | {"error": f"exit status {done.returncode}", "stdout": done.stdout[-2000:]}
    try:
        result["evaluate"] = parse_report(done.stdout)
    except json.JSONDecodeError as exc:
        return result | {"error": f"no JSON on stdout: {exc}", "stdout": done.stdout[-2000:]}
    if predictions.exists():
        result["extra"] = extra_figures(read_jsonl(cases), read_jsonl(predictions), name)
    return result


def table_row(name: str, result: dict) -> dict[str, str]:
    figures = {**result.get("extra", {}), **result.get("evaluate", {})}
    if "argmax_accuracy" not in figures and "argmax_accuracy_from_predictions" in figures:
        figures["argmax_accuracy"] = figures["argmax_accuracy_from_predictions"]
    figures["set"] = name if "error" not in result else f"{name} (FAILED: {result['error']})"
    if "in_scope" in figures:
        figures["in_out"] = f"{figures['in_scope']}/{figures.get('out_of_scope', 0)}"
    figures["model_size"] = human_size(figures.get("model_bytes"))
    return {header: cell(figures.get(key), fmt) for header, key, fmt in COLUMNS}


def cell(value: object, fmt: str) -> str:
    """A table cell: numbers in the column's format, a per-article threshold mapping summarised."""
    if value is None:
        return "-"
    if isinstance(value, dict):
        return f"per-article ({len(value)})"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return fmt.format(value)
    return str(value)


def markdown_table(rows: list[dict[str, str]]) -> str:
    headers = [header for header, _, _ in COLUMNS]
    widths = {h: max(len(h), *(len(row[h]) for row in rows)) for h in headers}
    line = lambda cells: "| " + " | ".join(cells) + " |"  # noqa: E731
    out = [line(h.ljust(widths[h]) for h in headers), line("-" * widths[h] for h in headers)]
    out += [line(row[h].ljust(widths[h]) for h in headers) for row in rows]
    return "\n".join(out)


def email_gap(results: dict[str, dict]) -> str | None:
    """E-mail form minus plain form, in points, for the figures the issue compares."""
    plain, mail = results.get(PLAIN_SET, {}).get("evaluate"), results.get(EMAIL_SET, {}).get("evaluate")
    if not plain or not mail:
        return None
    keys = ["argmax_accuracy", "in_scope_accuracy", "coverage", "oos_recall", "answered_precision"]
    gaps = [f"{key} {100 * (mail[key] - plain[key]):+.1f}" for key in keys if key in plain and key in mail]
    return f"e-mail form vs plain ({EMAIL_SET} - {PLAIN_SET}, points): " + ", ".join(gaps)


def severity_lines(results: dict[str, dict]) -> list[str]:
    """Per-class severity F1 of each set that has severity labels: where the macro figure comes from."""
    lines = []
    for name, result in results.items():
        per_class = result.get("evaluate", {}).get("severity_f1")
        if per_class:
            cells = ", ".join(f"{label} {score:.3f}" for label, score in per_class.items())
            lines.append(f"severity F1 per class ({name}): {cells}")
    return lines


SEVERITY_ORDER = ("critical", "major", "minor", "cosmetic", "none")


def severity_confusion(cases: list[dict], predictions: list[dict]) -> list[str]:
    """The severity confusion matrix (rows: labelled, columns: guessed) with recall and precision per
    class: which classes the macro figure loses to which. Only cases with a `severity` key count."""
    by_id = {prediction["id"]: prediction for prediction in predictions}
    pairs = [
        (case["severity"] or "none", by_id[case["id"]].get("severity") or "none")
        for case in cases
        if "severity" in case and case.get("id") in by_id
    ]
    if not pairs:
        return []
    count = {(row, col): 0 for row in SEVERITY_ORDER for col in SEVERITY_ORDER}
    for pair in pairs:
        count[pair] += 1
    width = max(len(label) for label in SEVERITY_ORDER) + 1
    lines = [
        "labelled \\ guessed".ljust(20) + "".join(col.rjust(width) for col in SEVERITY_ORDER) + "  recall"
    ]
    for row in SEVERITY_ORDER:
        total = sum(count[row, col] for col in SEVERITY_ORDER)
        recall = f"{count[row, row] / total:.2f}" if total else "-"
        cells = "".join(str(count[row, col]).rjust(width) for col in SEVERITY_ORDER)
        lines.append(row.ljust(20) + cells + recall.rjust(8))
    precisions = []
    for col in SEVERITY_ORDER:
        guessed = sum(count[row, col] for row in SEVERITY_ORDER)
        precisions.append((f"{count[col, col] / guessed:.2f}" if guessed else "-").rjust(width))
    lines.append("precision".ljust(20) + "".join(precisions))
    return lines


def confusion_lines(results: dict[str, dict]) -> list[str]:
    """The severity confusion matrix of each set whose predictions file has severity guesses."""
    blocks = []
    for name, result in results.items():
        if "severity_f1" not in result.get("evaluate", {}):
            continue
        _kb, cases = LOCAL_SETS.get(name, (OUT / name / "kb", OUT / name / "cases.jsonl"))
        predictions = OUT / name / "predictions.jsonl"
        if predictions.exists():
            lines = severity_confusion(read_jsonl(cases), read_jsonl(predictions))
            if lines:
                blocks.append(f"severity confusion ({name}):\n" + "\n".join(lines))
    return blocks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    known = [*SETS, *LOCAL_SETS]
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"any of: {', '.join(known)} (default all)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the sets even if they exist")
    parser.add_argument("--data", type=Path, default=DATA, help=f"the shared data folder (default {DATA})")
    parser.add_argument(
        "--mailbot",
        default=str(Path(sys.executable).parent / "mailbot"),
        help="the mailbot command to run (default: the one beside this Python)",
    )
    args = parser.parse_args(argv)
    names = args.names or known
    unknown = [name for name in names if name not in known]
    if unknown:
        parser.error(f"unknown set {', '.join(unknown)}; choose from {', '.join(known)}")
    missing = [
        name for name in names if name in SETS and (args.rebuild or not (OUT / name / "cases.jsonl").exists())
    ]
    for stats, seconds in build(missing, args.data, OUT):
        print(f"built {stats.line(seconds)}", file=sys.stderr)
    command = shlex.split(args.mailbot)
    results = {name: evaluate(name, command) for name in names}
    table = markdown_table([table_row(name, result) for name, result in results.items()])
    gap = email_gap(results)
    print(table)
    if gap:
        print(f"\n{gap}")
    for line in severity_lines(results):
        print(f"\n{line}")
    for block in confusion_lines(results):
        print(f"\n{block}")
    report = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": shlex.join(["python", "bench/quality.py", *(argv if argv is not None else sys.argv[1:])]),
        "sets": results,
        "email_gap": gap,
    }
    (OUT / "quality.json").write_text(
        json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return 1 if any("error" in result for result in results.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
