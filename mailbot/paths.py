"""Where the shipped knowledge base, templates, example configuration and demo mails are.

In an installed wheel they live inside the package (`mailbot/_shipped/`, copied there by setup.py);
in a source checkout or an editable install, in the top-level folders where people edit them.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
_INSTALLED = PACKAGE_DIR / "_shipped"
_CHECKOUT = PACKAGE_DIR.parent
_ROOT = _INSTALLED if (_INSTALLED / "templates").is_dir() else _CHECKOUT

SHIPPED_KNOWLEDGE_BASE = _ROOT / "knowledge_base"
SHIPPED_TEMPLATES = _ROOT / "templates"
EXAMPLE_CONFIG = _ROOT / "mailbot.example.toml"
CLIENT_EXAMPLE_CONFIG = _ROOT / "client.example.toml"
STARTER_KNOWLEDGE_BASE = _ROOT / "starter_knowledge_base"  # what `mailbot init --client` writes
DEMO_SAMPLES = PACKAGE_DIR / "demo" / "samples"
DEMO_CLIENTS = PACKAGE_DIR / "demo" / "clients"  # further demo client apps: client.toml, KB, samples
