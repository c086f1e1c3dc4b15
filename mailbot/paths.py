"""Where the shipped knowledge base and templates live in a source checkout."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_KNOWLEDGE_BASE = PROJECT_ROOT / "knowledge_base"
SHIPPED_TEMPLATES = PROJECT_ROOT / "templates"
DEMO_SAMPLES = Path(__file__).resolve().parent / "demo" / "samples"
