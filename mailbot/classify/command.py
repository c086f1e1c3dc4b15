"""`mailbot train` and `mailbot evaluate`: the classifier trained on demand, and measured on labelled
cases (docs/architecture.md, Evaluation cases)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from mailbot.classify import DEFAULT_OUT_OF_SCOPE_SHARE
from mailbot.errors import ConfigError
from mailbot.kb.command import installation_named


def run_train_command(args: argparse.Namespace) -> int:
    """Train anew, for every client (or the one --client names); one JSON line per client."""
    from mailbot.app import load_configured_kb, load_or_train
    from mailbot.classify import store
    from mailbot.clients import load_installation

    installation = load_installation(args.config, require_secrets=False)
    for slug, settings in installation.select(args.client).items():
        kb = load_configured_kb(settings)
        (settings.classifier.model_dir / store.CARD_FILE).unlink(missing_ok=True)  # on demand: always anew
        classifier = load_or_train(kb, settings.classifier)
        summary = {"client": slug, "model": classifier.version, "threshold": classifier.threshold}
        print(json.dumps({**summary, **classifier.validation}))
    if args.client is None and installation.problems:
        print(installation.report(), file=sys.stderr)
        return 1
    return 0


def run_evaluate_command(args: argparse.Namespace) -> int:
    """Train on a knowledge base and measure the answers on labelled cases, per client."""
    from tqdm import tqdm

    from mailbot.classify.evaluate import evaluate, format_summary, prediction_rows

    def progress(items: Any, total: int, label: str) -> Any:
        return tqdm(items, total=total, desc=label, file=sys.stderr, disable=total < 2000, leave=False)

    # what would fail after training fails before it: a missing library, a missing output folder
    if args.plot:
        from mailbot.classify.plot import require_matplotlib

        require_matplotlib()
    for option, output in (("--plot", args.plot), ("--predictions", args.predictions)):
        if output is not None and not output.resolve().parent.is_dir():
            raise ConfigError(f"{option} {output}: the folder {output.resolve().parent} does not exist")
    runs = _evaluation_runs(args)
    results: dict[str, Any] = {}
    for name, (kb, cases, target, share) in runs.items():
        result = evaluate(
            kb,
            cases,
            target_precision=target,
            out_of_scope_share=share,
            threshold=args.threshold,
            progress=progress,
            say=lambda message: print(f"training: {message}", file=sys.stderr),
        )
        results[name] = result
    if len(runs) > 1:  # several clients: a summary per client, the client named in every row
        if args.json:
            print(json.dumps({"clients": {n: r.summary for n, r in results.items()}}, ensure_ascii=False))
        else:
            for name, result in results.items():
                print(f"client {name}:\n{format_summary(result.summary)}")
        return 0
    ((name, result),) = results.items()
    if args.predictions:
        with args.predictions.open("w", encoding="utf-8") as out:
            for row in prediction_rows(result.outcomes):
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
    if args.plot:
        from mailbot.classify.plot import plot_title, write_plot

        write_plot(result.outcomes, result.summary, args.plot, plot_title(runs[name][0], runs[name][1]))
    summary = result.summary if name is None else {"client": name, **result.summary}
    print(json.dumps(summary, ensure_ascii=False) if args.json else format_summary(result.summary))
    return 0


def _evaluation_runs(args: argparse.Namespace) -> dict[Any, tuple[Path, Path, float, float]]:
    """What to evaluate: --kb on --cases; or a configured client's KB and classifier settings (the
    options win); or, for several clients, each client's KB on <cases folder>/<client>.jsonl."""

    def options(target: float, share: float) -> tuple[float, float]:
        return (
            args.target_precision if args.target_precision is not None else target,
            args.out_of_scope_share if args.out_of_scope_share is not None else share,
        )

    if args.kb is not None:
        return {None: (args.kb, args.cases, *options(0.97, DEFAULT_OUT_OF_SCOPE_SHARE))}
    installation = installation_named(args, require_secrets=False)
    clients = installation.select(args.client)
    several = len(clients) > 1
    if several and not args.cases.is_dir():
        raise ConfigError(
            f"--cases {args.cases}: with several clients give a folder of <client>.jsonl files, "
            "or name one client with --client"
        )
    runs: dict[Any, tuple[Path, Path, float, float]] = {}
    for slug, settings in clients.items():
        cases = args.cases / f"{slug}.jsonl" if several else args.cases
        if several and not cases.is_file():
            print(f"client {slug}: no {cases}, not evaluated", file=sys.stderr)
            continue
        model = settings.classifier
        name = slug if installation.several else None
        runs[name] = (
            settings.knowledge_base.path,
            cases,
            *options(model.target_precision, model.out_of_scope_share),
        )
    if not runs:
        raise ConfigError(f"--cases {args.cases}: no <client>.jsonl for any client ({', '.join(clients)})")
    return runs
