"""Start-up time and memory of one installation with 1, 10 and 50 clients (issue 12).

Each client has its own ~30-article knowledge base from CLINC150 (bench/clients_installation.py). For
every N, in a fresh subprocess each: a cold start (`Fleet.open` training every client's model) and a
warm start (the saved models loaded); wall time, peak RSS (ru_maxrss) and RSS after the start. Then
what one more client costs, (RSS(N) - RSS(1)) / (N - 1), beside what one client's model and knowledge
base take in memory (tracemalloc around loading them), and what one more client adds beside 10 (the
11th: RSS; the 12th: tracemalloc snapshot diff by mailbot call site and by allocating line). Last, one
`mailbot run --once` over the N=10 installation with a few mails per client in their Maildirs.

Usage: .venv/bin/python bench/clients_startup.py [--counts 1,10,50] [--mails 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.clients_installation import mail_for, write_installation  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
MB = 1024 * 1024


def rss_bytes() -> int:
    """The resident set now (VmRSS), which ru_maxrss (the peak) cannot tell."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def peak_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: kilobytes


# --- in the child process -------------------------------------------------------------------------


def child_start(config: Path) -> dict[str, Any]:
    """Import, read the installation, open the fleet: the figures of one start."""
    began = time.perf_counter()
    from mailbot.clients import load_installation
    from mailbot.clients.fleet import Fleet

    imported = time.perf_counter()
    rss_imported = rss_bytes()
    installation = load_installation(config)
    fleet = Fleet.open(installation)
    opened = time.perf_counter()
    gc.collect()
    figures = {
        "clients": len(fleet.apps),
        "problems": sorted(fleet.problems),
        "import_s": imported - began,
        "open_s": opened - imported,
        "rss_imported": rss_imported,
        "rss_after": rss_bytes(),
        "peak": peak_bytes(),
        "renderers": len({id(app.renderer) for app in fleet}),
        "engines": len({id(app.engine) for app in fleet}),
    }
    fleet.close()
    return figures


def traced(make: Any) -> tuple[Any, int]:
    """`make()` and the bytes it left allocated (tracemalloc: Python objects and numpy/scipy arrays)."""
    import tracemalloc

    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    made = make()
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return made, after - before


def child_prepare(config: Path) -> dict[str, Any]:
    """Create and migrate the database, so that neither start pays for it."""
    from mailbot.clients import load_installation
    from mailbot.db.engine import open_engine

    open_engine(load_installation(config).database_url).dispose()
    return {}


def child_model(config: Path) -> dict[str, Any]:
    """One client's knowledge base and saved model in memory, the skops file, and its whole App."""
    from mailbot.app import build_app, load_configured_kb
    from mailbot.classify import store
    from mailbot.clients import load_installation
    from mailbot.db.engine import make_session_factory, open_engine
    from mailbot.reply.render import TemplateRenderer

    installation = load_installation(config)
    settings = installation.clients[sorted(installation.clients)[0]]
    model = settings.classifier
    kb, kb_bytes = traced(lambda: load_configured_kb(settings))
    loaded, model_bytes = traced(
        lambda: store.load(model.model_dir, kb.digest, model.target_precision, model.out_of_scope_share)
    )
    if loaded is None:
        raise RuntimeError(f"no saved model in {model.model_dir}: run the warm start first")
    engine = open_engine(installation.database_url)
    database = (engine, make_session_factory(engine))
    renderer = TemplateRenderer(settings.templates.directory)
    build_app(settings, database=database, renderer=renderer)  # first one: lazy imports and caches
    _app, app_bytes = traced(lambda: build_app(settings, database=database, renderer=renderer))
    began = time.perf_counter()
    load_configured_kb(settings)
    kb_s, began = time.perf_counter() - began, time.perf_counter()
    store.load(model.model_dir, kb.digest, model.target_precision, model.out_of_scope_share)
    model_s = time.perf_counter() - began
    return {
        "kb_bytes": kb_bytes,
        "kb_files": sum(path.stat().st_size for path in settings.knowledge_base.path.glob("*.md")),
        "articles": len(kb.articles),
        "examples": sum(len(article.examples) for article in kb.articles),
        "model_bytes": model_bytes,
        "skops_file": (model.model_dir / store.MODEL_FILE).stat().st_size,
        "app_bytes": app_bytes,
        "kb_s": kb_s,
        "model_s": model_s,
    }


def child_diff(config: Path, top: int = 12) -> dict[str, Any]:
    """Open 10 clients, then the 11th: what it adds to the RSS; then the 12th under tracemalloc (whose
    own bookkeeping would swell the RSS): what it keeps, by mailbot call site (innermost frame in
    mailbot/) and by allocating line, and the transient peak while it loads."""
    import tracemalloc

    from mailbot.clients import load_installation
    from mailbot.clients.fleet import Fleet

    installation = load_installation(config)
    slugs = sorted(installation.clients)
    if len(slugs) < 12:
        raise RuntimeError("the diff needs an installation of at least 12 clients")
    eleventh, twelfth = slugs[10], slugs[11]
    first_ten = {slug: installation.clients[slug] for slug in slugs[:10]}
    fleet = Fleet.open(replace_clients(installation, first_ten))
    gc.collect()
    rss_before = rss_bytes()
    fleet._build(eleventh, installation.clients[eleventh], strict=True)
    gc.collect()
    rss_grown = rss_bytes() - rss_before
    tracemalloc.start(40)
    before = tracemalloc.take_snapshot()
    start_traced = tracemalloc.get_traced_memory()[0]
    app = fleet._build(twelfth, installation.clients[twelfth], strict=True)
    gc.collect()
    peak = tracemalloc.get_traced_memory()[1] - start_traced
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    filters = [tracemalloc.Filter(False, tracemalloc.__file__)]
    stats = after.filter_traces(filters).compare_to(before.filter_traces(filters), "traceback")
    by_site: dict[str, int] = {}
    for stat in stats:
        by_site[mailbot_site(stat.traceback)] = by_site.get(mailbot_site(stat.traceback), 0) + stat.size_diff
    lines = after.filter_traces(filters).compare_to(before.filter_traces(filters), "lineno")
    assert app is not None
    return {
        "client": eleventh,
        "traced_client": twelfth,
        "traced": sum(stat.size_diff for stat in stats),
        "peak": peak,
        "rss_grown": rss_grown,
        "by_site": sorted(by_site.items(), key=lambda item: -item[1])[:top],
        "by_line": [(str(stat.traceback[0]), stat.size_diff) for stat in lines[:top]],
    }


def replace_clients(installation: Any, clients: dict[str, Any]) -> Any:
    from dataclasses import replace

    return replace(installation, clients=clients, problems={}, fingerprints={})


def mailbot_site(traceback: Any) -> str:
    """The innermost mailbot frame of an allocation (the code that asked for it), else its own line."""
    for frame in reversed(traceback):  # tracemalloc: most recent call last with most_recent_first=False
        if f"{os.sep}mailbot{os.sep}" in frame.filename and ".venv" not in frame.filename:
            return f"{Path(frame.filename).relative_to(ROOT)}:{frame.lineno}"
    return f"(outside mailbot) {traceback[-1]}"


CHILD_MODES = {"prepare": child_prepare, "start": child_start, "model": child_model, "diff": child_diff}


# --- in the parent --------------------------------------------------------------------------------


def in_child(mode: str, config: Path, *extra: str) -> dict[str, Any]:
    """`mode` in a fresh interpreter: nothing imported, trained or cached before it."""
    command = [sys.executable, __file__, "--child", mode, str(config), *extra]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def starts(base: Path, counts: list[int]) -> dict[int, dict[str, dict[str, Any]]]:
    results: dict[int, dict[str, dict[str, Any]]] = {}
    for count in counts:
        root = base / f"n{count}"
        write_installation(root, count, DATA)
        config = root / "mailbot.toml"
        in_child("prepare", config)  # database created and migrated: not part of either start
        shutil.rmtree(root / "model", ignore_errors=True)
        cold = in_child("start", config)
        warm = in_child("start", config)
        results[count] = {"cold": cold, "warm": warm}
        print(f"  N={count}: cold {cold['open_s']:.1f} s, warm {warm['open_s']:.1f} s", file=sys.stderr)
    return results


def print_table(results: dict[int, dict[str, dict[str, Any]]], model: dict[str, Any]) -> None:
    print(
        "| clients | start | import s | Fleet.open s | s per client | RSS after imports MB "
        "| RSS after start MB | peak RSS MB | per extra client MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    first = min(results)
    for count, modes in sorted(results.items()):
        for mode, figures in modes.items():
            extra = "-"
            if count > first:
                grown = figures["rss_after"] - results[first][mode]["rss_after"]
                extra = f"{grown / (count - first) / MB:.2f}"
            print(
                f"| {count} | {mode} | {figures['import_s']:.2f} | {figures['open_s']:.2f} "
                f"| {figures['open_s'] / count:.2f} | {figures['rss_imported'] / MB:.0f} "
                f"| {figures['rss_after'] / MB:.0f} | {figures['peak'] / MB:.0f} | {extra} |"
            )
    shared = {
        count: (modes["warm"]["renderers"], modes["warm"]["engines"]) for count, modes in results.items()
    }
    print(f"\nshared per installation (warm; renderers, engines): {shared}")
    print(
        f"one client (client01): {model['articles']} articles, {model['examples']} examples, KB files "
        f"{model['kb_files'] / 1024:.0f} kB, KB in memory {model['kb_bytes'] / MB:.2f} MB; model in memory "
        f"{model['model_bytes'] / MB:.2f} MB (skops file {model['skops_file'] / MB:.2f} MB); its whole App "
        f"(KB, model, severity, calendar, key; renderer and engine shared) {model['app_bytes'] / MB:.2f} MB; "
        f"loading its KB {model['kb_s']:.2f} s, its saved model {model['model_s']:.2f} s"
    )


def print_diff(diff: dict[str, Any]) -> None:
    print(
        f"\n11th client ({diff['client']}): RSS +{diff['rss_grown'] / MB:.2f} MB; 12th "
        f"({diff['traced_client']}) under tracemalloc: {diff['traced'] / MB:.2f} MB kept, "
        f"{diff['peak'] / MB:.1f} MB transient peak while it loaded"
    )
    print("by mailbot call site (innermost frame in mailbot/):")
    for site, size in diff["by_site"]:
        print(f"  {size / 1024:10.0f} kB  {site}")
    print("by allocating line:")
    for line, size in diff["by_line"]:
        print(f"  {size / 1024:10.0f} kB  {line}")


def run_once(base: Path, count: int, mails: int) -> None:
    """`mailbot run --once` over the warm N=`count` installation, `mails` mails in each client's Maildir."""
    from tests.e2e.conftest import make_mail
    from tests.servers import SmtpSink

    root = base / f"n{count}"
    with SmtpSink() as sink:
        clients = write_installation(root, count, DATA, smtp_port=sink.port)  # same KBs: models stay valid
        for one in clients:
            for index, (subject, text) in enumerate(mail_for(one, DATA, mails, seed=1)):
                raw = make_mail(
                    f"customer{index}@example.org",
                    subject,
                    f"Hello,\n\n{text}\n\nBest\nAlex",
                    to=f"support@{one.slug}.example",
                )
                (root / "maildirs" / one.slug / "new" / f"{time.time_ns()}.{index}.bench").write_bytes(raw)
        command = [
            str(Path(sys.executable).parent / "mailbot"),
            "run",
            "--once",
            "--config",
            str(root / "mailbot.toml"),
        ]
        began = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - began
        received = len(sink.messages)
    (base / "run_once.log").write_text(done.stderr, encoding="utf-8")
    log = done.stderr.splitlines()
    lines = [line for line in log if " done: " in line]
    processed = sum(int(line.split(" fetched, ")[1].split(" processed")[0]) for line in lines)
    outcomes = {word: sum(f" {word} " in line for line in log) for word in ("answered", "escalated")}
    loaded = [logged_at(line) for line in log if "classifier" in line and " loaded from " in line]
    passes = logged_at(lines[-1]) - max(loaded) if lines and loaded else float("nan")
    print(
        f"\n`mailbot run --once`, N={count}, {mails} mails per client: exit {done.returncode}, "
        f"{elapsed:.1f} s wall (process start, models loaded, every client's pass), of which the passes "
        f"{passes:.1f} s (last model loaded → last client done); {len(lines)} clients passed, {processed} "
        f"mails processed {outcomes}, {received} mails into the SMTP sink"
    )
    if done.returncode != 0:
        print(done.stderr[-3000:])


def logged_at(line: str) -> float:
    """Seconds of a log line's timestamp ('2026-12-05 05:22:57,923 INFO ...')."""
    return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="1,10,50")
    parser.add_argument(
        "--mails", type=int, default=3, help="mails per client for run --once (N=10, else the largest N)"
    )
    parser.add_argument("--keep", type=Path, help="build the installations here and keep them")
    parser.add_argument(
        "--parts", default="starts,diff,once", help="with --keep, later parts can be run again alone"
    )
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, config = args.child[0], Path(args.child[1])
        print(json.dumps(CHILD_MODES[mode](config)))
        return
    counts, parts = [int(text) for text in args.counts.split(",")], args.parts.split(",")
    base = args.keep or Path(tempfile.mkdtemp(prefix="mailbot-clients-bench-"))
    print(f"installations in {base}; {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}", file=sys.stderr)
    saved = base / "starts.json"
    if "starts" in parts:
        results = starts(base, counts)
        saved.write_text(json.dumps(results))
    results = {int(count): modes for count, modes in json.loads(saved.read_text()).items()}
    largest = base / f"n{max(results)}" / "mailbot.toml"
    print_table(results, in_child("model", largest))
    if "diff" in parts and max(results) >= 12:
        print_diff(in_child("diff", largest))
    if "once" in parts:
        run_once(base, 10 if 10 in results else max(results), args.mails)
    if args.keep is None:
        shutil.rmtree(base)


if __name__ == "__main__":
    main()
