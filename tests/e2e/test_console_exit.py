"""The installed command leaves without the interpreter's teardown (mailbot.cli.console), and loses
nothing by it: the whole output, the exit status, the log lines written last."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mailbot.paths import SHIPPED_KNOWLEDGE_BASE

# an atexit handler says whether the interpreter's own exit ran; `linger` leaves a thread at work
SCRIPT = """
import atexit, sys, threading
atexit.register(lambda: print("normal exit", file=sys.stderr))
if sys.argv.pop(1) == "linger":
    threading.Thread(target=threading.Event().wait, daemon=True).start()
from mailbot.cli import console
sys.argv[0] = "mailbot"
console()
"""


def console(*args: str, linger: bool = False) -> subprocess.CompletedProcess[str]:
    script = SCRIPT
    args = ("linger" if linger else "alone", *args)
    return subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_output_and_status_arrive_whole_through_the_early_exit(tmp_path: Path) -> None:
    passed = console("kb", "check", "--kb", str(SHIPPED_KNOWLEDGE_BASE))
    assert passed.returncode == 0, passed.stderr
    assert passed.stdout.rstrip().endswith("OK")
    assert "normal exit" not in passed.stderr  # the teardown was left out

    article = tmp_path / "broken.md"
    article.write_text("---\nid: Broken Id\ntitle: x\nlanguage: de\nexamples:\n  - hallo\n---\nAntwort\n")
    failed = console("kb", "check", "--kb", str(tmp_path))
    assert failed.returncode == 1
    assert f"{article}:2:" in failed.stdout


def test_a_configuration_error_still_says_what_is_wrong(tmp_path: Path) -> None:
    config = tmp_path / "mailbot.toml"
    config.write_text('[support]\naddress = "nope"\n[team]\naddress = "t@example.com"\n')
    result = console("status", "--config", str(config))
    assert result.returncode == 2
    assert "[support] address" in result.stderr  # written by main, flushed before os._exit


def test_with_another_thread_alive_the_normal_exit_runs() -> None:
    result = console("kb", "check", "--kb", str(SHIPPED_KNOWLEDGE_BASE), linger=True)
    assert result.returncode == 0
    assert "normal exit" in result.stderr
