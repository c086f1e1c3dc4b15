"""The severity sets: the shipped knowledge base (with its `_severity/` examples) and hand-labelled mails.

Nothing to download or convert: `bench/quality.py aktivo_severity` evaluates `knowledge_base/` against
`bench/severity/cases.jsonl` in place. The cases are worded independently of the training examples
(see bench/severity/README.md), so `severity_macro_f1` measures new wording, not recall of examples.
`aktivo_severity_independent` does the same with `bench/severity/independent.jsonl`: mails about other
apps, written by someone who never saw the examples nor the first set (issue 14), so a model tuned on
the first set's misses is still measured on wording nobody tuned it to.
"""

from __future__ import annotations

from pathlib import Path

NAME = "aktivo_severity"
ROOT = Path(__file__).resolve().parents[2]
KB = ROOT / "knowledge_base"
CASES = ROOT / "bench" / "severity" / "cases.jsonl"
INDEPENDENT_NAME = "aktivo_severity_independent"
INDEPENDENT_CASES = ROOT / "bench" / "severity" / "independent.jsonl"
