"""`mailbot kb check`: validate a knowledge base (one folder, or every configured client's) and say
what it holds; problems name the file, the line and the fix."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from mailbot.config import CONFIG_ENV
from mailbot.errors import ConfigError

if TYPE_CHECKING:
    from mailbot.clients import Installation


def run_kb_check_command(args: argparse.Namespace) -> int:
    """One folder (--kb), or the knowledge base of every configured client (--config, --client)."""
    if args.kb is not None:
        return _check_kb(args.kb)
    installation = installation_named(args, require_secrets=False)
    clients = installation.select(args.client)
    failed = 0
    for slug, settings in clients.items():
        print(f"client {slug}:")
        failed += _check_kb(settings.knowledge_base.path)
    if args.client is None:
        for slug, problem in sorted(installation.problems.items()):
            print(f"client {slug}: NOT SERVED\n{problem}")
            failed += 1
    return 1 if failed else 0


def installation_named(args: argparse.Namespace, *, require_secrets: bool) -> Installation:
    """The installation --config (or $MAILBOT_CONFIG) names, for commands that take --kb instead."""
    from mailbot.clients import load_installation

    if args.config is None and not os.environ.get(CONFIG_ENV):
        raise ConfigError("name the knowledge base with --kb DIR, or the configuration with --config FILE")
    return load_installation(args.config, require_secrets=require_secrets)


def _check_kb(root: Path) -> int:
    from mailbot.classify.severity import check_severity_examples, load_severity_examples
    from mailbot.kb import check_knowledge_base, knowledge_base_warnings, load_knowledge_base

    problems = check_knowledge_base(root) + check_severity_examples(root)
    warnings = knowledge_base_warnings(root)
    for problem in problems:
        print(problem)
    for warning in warnings:
        print(f"warning: {warning}")
    if problems:
        print(f"{len(problems)} problem(s) in {root}", file=sys.stderr)
        return 1
    kb = load_knowledge_base(root)
    languages = sorted({article.language.value for article in kb.articles})
    extra = f", {len(kb.out_of_scope.examples)} out-of-scope examples" if kb.out_of_scope else ""
    topics = f"{len(kb.topic_ids())} topics ({', '.join(languages)})"
    severity = len(load_severity_examples(root))
    verdict = f"OK ({len(warnings)} warning(s) above)" if warnings else "OK"
    print(f"{root}: {len(kb.articles)} articles, {topics}{extra}, {severity} severity examples, {verdict}")
    return 0
