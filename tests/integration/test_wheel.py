"""The wheel carries everything an installed mailbot needs (built offline with this venv's setuptools).

scripts/check-wheel goes further in CI: it installs the wheel in a fresh venv and runs `mailbot demo`
from an empty directory.
"""

import subprocess
import sys
import zipfile
from pathlib import Path

from mailbot.paths import (
    DEMO_CLIENTS,
    DEMO_SAMPLES,
    PACKAGE_DIR,
    SHIPPED_KNOWLEDGE_BASE,
    STARTER_KNOWLEDGE_BASE,
)
from mailbot.reply.render import required_templates

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_ships_templates_knowledge_bases_example_configs_and_demo_clients(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            tmp_path,
            ROOT,
        ],
        check=True,
        cwd=tmp_path,
    )
    (wheel,) = tmp_path.glob("mailbot-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = "mailbot/_shipped/"
    missing = [n for n in required_templates() if f"{shipped}templates/{n}" not in names]
    assert missing == []
    articles = [
        p.relative_to(SHIPPED_KNOWLEDGE_BASE).as_posix() for p in SHIPPED_KNOWLEDGE_BASE.rglob("*.md")
    ]
    assert articles and all(f"{shipped}knowledge_base/{a}" in names for a in articles)
    assert f"{shipped}mailbot.example.toml" in names
    assert f"{shipped}client.example.toml" in names
    starter = [p.relative_to(STARTER_KNOWLEDGE_BASE).as_posix() for p in STARTER_KNOWLEDGE_BASE.rglob("*.md")]
    assert starter and all(f"{shipped}starter_knowledge_base/{a}" in names for a in starter)
    demo_clients = [
        p.relative_to(PACKAGE_DIR.parent).as_posix() for p in DEMO_CLIENTS.rglob("*") if p.is_file()
    ]
    assert any(n.endswith("_severity/critical.md") for n in demo_clients)
    assert any(n.endswith("_out_of_scope.md") for n in demo_clients)
    assert [n for n in demo_clients if n not in names and "__pycache__" not in n] == []
    assert all(f"mailbot/demo/samples/{p.name}" in names for p in DEMO_SAMPLES.glob("*.eml"))
    stand_ins = PACKAGE_DIR / "demo" / "stores"  # `mailbot demo` starts the store stand-ins from the wheel
    modules = [f"mailbot/demo/stores/{p.name}" for p in stand_ins.glob("*.py")]
    assert "mailbot/demo/stores/apple.py" in modules and "mailbot/demo/stores/google.py" in modules
    assert "mailbot/demo/reviews.py" in names and all(m in names for m in modules)
    assert any(n.startswith("mailbot/db/migrations/versions/0001") for n in names)
    assert not any(n.startswith(("tests/", "bench/", "templates/", "knowledge_base/")) for n in names)
