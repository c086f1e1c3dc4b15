"""Ships the top-level templates, knowledge bases and example configurations inside the wheel.

They stay at the top of the repository, where agents and developers edit them, but an installed
mailbot must find them without a checkout: `build_py` copies them into the built package as
`mailbot/_shipped/<name>` (see mailbot/paths.py). Everything else is declared in pyproject.toml.
Editable installs skip the copy and read them in place.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = (
    "templates",
    "knowledge_base",
    "mailbot.example.toml",
    "client.example.toml",
    "starter_knowledge_base",
)


class BuildPyWithShippedFolders(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for name in SHIPPED:
            source, target = ROOT / name, Path(self.build_lib) / "mailbot" / "_shipped" / name
            if source.is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
                continue
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", ".*"))


setup(cmdclass={"build_py": BuildPyWithShippedFolders})
