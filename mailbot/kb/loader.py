"""Find, read and check the article files of a knowledge-base folder."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path, PurePath

from mailbot.kb.crosscheck import cross_check
from mailbot.kb.frontmatter import read_source
from mailbot.kb.model import KnowledgeBase, KnowledgeBaseError, Problem
from mailbot.kb.validate import OUT_OF_SCOPE_ID, Located, body_warnings, check_article
from mailbot.paths import SHIPPED_KNOWLEDGE_BASE

_SKIPPED_NAMES = {"readme.md"}
SAMPLE_HINT = f"`mailbot init` writes a sample to start from (it is also at {SHIPPED_KNOWLEDGE_BASE})"
# callers that know the folder came from a configuration name the file instead (app.load_configured_kb)
MISSING_FIX = (
    "set [knowledge_base] path in the configuration (--kb for `kb check` and `evaluate`) to your "
    f"articles' folder; {SAMPLE_HINT}"
)


@dataclass(frozen=True)
class _Scan:
    located: tuple[Located, ...]
    problems: tuple[Problem, ...]
    digest: str
    warnings: tuple[Problem, ...] = ()


def check_knowledge_base(root: Path) -> list[Problem]:
    """Every problem of the knowledge base under `root`, sorted by file and line; [] when it is fine.

    Content problems are returned, never raised, so `mailbot kb check` can list them all at once.
    """
    return list(_scan(root).problems)


def knowledge_base_warnings(root: Path) -> list[Problem]:
    """What `mailbot kb check` warns about in the answers (raw HTML, template syntax, remote images),
    sorted by file and line; warnings never stop a knowledge base from loading."""
    return list(_scan(root).warnings)


def load_knowledge_base(root: Path, *, missing_fix: str = MISSING_FIX) -> KnowledgeBase:
    """The knowledge base under `root`; raises KnowledgeBaseError listing every problem found.

    `missing_fix` tells where the folder was named, for a folder that does not exist: the command-line
    option by default, the configuration key when the folder comes from a configuration.
    """
    scan = _scan(root, missing_fix)
    if scan.problems:
        raise KnowledgeBaseError(scan.problems)
    articles = tuple(item.article for item in scan.located if item.article.id != OUT_OF_SCOPE_ID)
    special = [item.article for item in scan.located if item.article.id == OUT_OF_SCOPE_ID]
    return KnowledgeBase(root, articles, scan.digest, special[0] if special else None)


def tree_stamp(root: Path) -> tuple[tuple[str, int, int, int], ...]:
    """Name, inode, size and modification time (ns) of everything under `root`: cheap to take (a stat
    per file), and different after any edit, added, removed or renamed file (a worker compares it at
    every pass and reads the articles again only when it changed)."""
    if not root.is_dir():
        return ()
    stamp = []
    for path in sorted(root.rglob("*")):
        try:
            info = path.stat()
        except OSError:  # removed while we looked: the next pass sees the rest of the change
            continue
        stamp.append((path.relative_to(root).as_posix(), info.st_ino, info.st_size, info.st_mtime_ns))
    return tuple(stamp)


def article_files(root: Path) -> list[Path]:
    """Article files under `root`, sorted by relative path.

    Names starting with '_' or '.' (at any level) are reserved for special files and folders, and
    README.md files are for the humans editing the knowledge base. The one special file read here is
    `_out_of_scope.md` at the top: examples of requests that must never be answered automatically.
    """
    files = [path for path in root.rglob("*.md") if path.is_file() and _is_article(path.relative_to(root))]
    out_of_scope = root / f"{OUT_OF_SCOPE_ID}.md"
    if out_of_scope.is_file():
        files.append(out_of_scope)
    return sorted(files, key=lambda path: path.relative_to(root).as_posix())


def _is_article(relative: PurePath) -> bool:
    hidden = any(part.startswith(("_", ".")) for part in relative.parts)
    return not hidden and relative.name.lower() not in _SKIPPED_NAMES


def digest(root: Path, contents: dict[Path, bytes]) -> str:
    """SHA-256 over (relative path, bytes) of each file in path order.

    Each part is prefixed with its length, so moving bytes between a name and a file changes the digest.
    """
    hasher = hashlib.sha256()
    for path in sorted(contents, key=lambda path: path.relative_to(root).as_posix()):
        name = path.relative_to(root).as_posix().encode()
        data = contents[path]
        for chunk in (name, data):
            hasher.update(len(chunk).to_bytes(8, "big"))
            hasher.update(chunk)
    return hasher.hexdigest()


def _scan(root: Path, missing_fix: str = MISSING_FIX) -> _Scan:
    if not root.is_dir():
        problem = Problem(root, 0, "the knowledge-base folder does not exist", missing_fix)
        return _Scan((), (problem,), "")
    contents: dict[Path, bytes] = {}
    problems: list[Problem] = []
    for path in article_files(root):
        try:
            contents[path] = path.read_bytes()
        except OSError as exc:
            message = f"cannot read the file: {exc.strerror}"
            problems.append(Problem(path, 0, message, "check that the file is readable"))
    located: list[Located] = []
    warnings: list[Problem] = []
    for path, data in contents.items():
        source = read_source(path, data)
        result = check_article(source) if not isinstance(source, Problem) else [source]
        if isinstance(result, Located):
            located.append(result)
            warnings.extend(body_warnings(source))  # a Located came from a Source
        else:
            problems.extend(result)
    problems.extend(cross_check(located))
    problems.sort(key=lambda problem: (problem.path.as_posix(), problem.line))
    warnings.sort(key=lambda problem: (problem.path.as_posix(), problem.line))
    return _Scan(tuple(located), tuple(problems), digest(root, contents), tuple(warnings))
