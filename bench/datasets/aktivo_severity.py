"""The severity set: the shipped knowledge base (with its `_severity/` examples) and hand-labelled mails.

Nothing to download or convert: `bench/quality.py aktivo_severity` evaluates `knowledge_base/` against
`bench/severity/cases.jsonl` in place. The cases are worded independently of the training examples
(see bench/severity/README.md), so `severity_macro_f1` measures new wording, not recall of examples.
"""

from __future__ import annotations

from pathlib import Path

NAME = "aktivo_severity"
ROOT = Path(__file__).resolve().parents[2]
KB = ROOT / "knowledge_base"
CASES = ROOT / "bench" / "severity" / "cases.jsonl"
