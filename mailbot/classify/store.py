"""Save and load a trained classifier: the scikit-learn pipeline with skops, a JSON model card beside it.

skops loads only the types we allow, so a model file cannot run code on load (pickle and joblib can).
The card says what the model is (KB digest, threshold, calibration, figures, library versions); a
model whose card does not match the current knowledge base or libraries is not loaded but retrained.
Beside them, the articles it was trained on (snapshot.py): with those, the last good model still
answers while the knowledge base on disk is broken (`last_good`).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import logging
import platform
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailbot.classify import DEFAULT_OUT_OF_SCOPE_SHARE, MODEL_NAME
from mailbot.classify.snapshot import ARTICLES_FILE, read_snapshot, write_snapshot
from mailbot.kb import KnowledgeBase

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

    from mailbot.classify.model import Classifier

log = logging.getLogger(__name__)

MODEL_FILE = "model.skops"
CARD_FILE = "model-card.json"
# 2: the vectorisers' vocabularies as arrays of terms (`serialise`); 1 (dicts) is still read, but a
# mailbot that reads only 1 retrains rather than load a vocabulary it does not know
CARD_FORMAT = 2
READABLE_FORMATS = (1, 2)
LIBRARIES = ("scikit-learn", "numpy", "scipy", "skops")
# every type a skops file of ours may contain beyond what skops trusts by default; anything else refuses
ALLOWED_TYPES: frozenset[str] = frozenset()


def serialise(pipeline: Pipeline) -> bytes:
    """skops bytes, deflated, of a copy whose vectorisers keep their vocabularies as arrays of terms.

    A vocabulary maps ~10,000 terms to their column. As a dict, skops stores and audits every value as
    a node of its own: ~0.2 s of each load (a fleet worker loads one model per client, bench/README.md,
    session 26). As an array of the terms in column order it is one .npy entry; `load` makes the dict
    again. A term numpy would not give back whole (one ending in NUL) keeps the dict.
    """
    import skops.io as sio  # deferred: skops imports all of scikit-learn (~2 s, ~60 MB)

    packed = copy.deepcopy(pipeline)
    for step in packed.get_params(deep=True).values():
        vocabulary = getattr(step, "vocabulary_", None)
        if isinstance(vocabulary, dict):
            step.vocabulary_ = _as_terms(vocabulary)
    return sio.dumps(packed, compression=zipfile.ZIP_DEFLATED, compresslevel=6)


def _as_terms(vocabulary: dict[str, Any]) -> Any:
    """The terms in column order as a numpy array of str, or the dict itself (with Python ints) when
    the array would not say the same."""
    import numpy as np

    terms = sorted(vocabulary, key=vocabulary.__getitem__)
    if [vocabulary[term] for term in terms] == list(range(len(terms))) and not any(
        term.endswith("\0") for term in terms
    ):
        return np.array(terms, dtype=str)
    return {term: int(index) for term, index in vocabulary.items()}


def _unpack(pipeline: Pipeline) -> Pipeline:
    """The vocabularies `serialise` stored as arrays, as the dicts scikit-learn reads."""
    for step in pipeline.get_params(deep=True).values():
        terms = getattr(step, "vocabulary_", None)
        if terms is not None and not isinstance(terms, dict):
            step.vocabulary_ = {term: index for index, term in enumerate(terms.tolist())}
    return pipeline


def library_versions() -> dict[str, str]:
    return dict(_installed_versions())


@functools.cache
def _installed_versions() -> tuple[tuple[str, str], ...]:
    """Asked once per process: each `version` walks the installed distributions (~3 ms), and a worker
    checks one card per client."""
    return (("python", platform.python_version()), *((name, version(name)) for name in LIBRARIES))


def save(
    classifier: Classifier,
    directory: Path,
    kb_digest: str,
    kb: KnowledgeBase | None = None,
    created_at: str | None = None,
) -> dict[str, Any]:
    """Write model, the articles of `kb` and the card (the card last, so a half-written model never
    has a valid card). `created_at`: when it was trained, if not now (a model saved again)."""
    if classifier.pipeline is None:
        raise ValueError("nothing to save: the knowledge base has fewer than two classes")
    directory.mkdir(parents=True, exist_ok=True)
    model_path = directory / MODEL_FILE
    (directory / CARD_FILE).unlink(missing_ok=True)
    temporary = model_path.with_suffix(".tmp")
    temporary.write_bytes(serialise(classifier.pipeline))
    temporary.replace(model_path)
    if kb is not None:
        write_snapshot(kb, directory)
    data = model_path.read_bytes()
    card = {
        "format": CARD_FORMAT,
        "model": MODEL_NAME,
        "version": classifier.version,
        "created_at": created_at or datetime.now(UTC).isoformat(timespec="seconds"),
        "kb_digest": kb_digest,
        "labels": list(classifier.labels),
        "threshold": classifier.threshold,
        "threshold_source": "cross-validation over the knowledge base's own examples "
        f"({classifier.validation.get('folds', '?')} folds, stratified, near-duplicates kept in one fold, "
        "seed 0), lowest threshold meeting "
        f"target precision {classifier.validation.get('target_precision', '?')} with out-of-scope examples "
        f"counted as at least {classifier.validation.get('out_of_scope_share', '?')} of the mail",
        "calibration": {
            "kind": "platt-top-score",
            "slope": classifier.calibration.slope,
            "intercept": classifier.calibration.intercept,
        },
        "validation": classifier.validation,
        "libraries": library_versions(),
        "model_file": MODEL_FILE,
        "model_bytes": len(data),
        "model_sha256": hashlib.sha256(data).hexdigest(),
        # the articles it answers with, for when the knowledge base on disk is broken at start-up
        "articles_file": ARTICLES_FILE if kb is not None else None,
    }
    card_path = directory / CARD_FILE
    card_path.with_suffix(".tmp").write_text(json.dumps(card, indent=2), encoding="utf-8")
    card_path.with_suffix(".tmp").replace(card_path)
    return card


def load(
    directory: Path,
    kb_digest: str,
    target_precision: float,
    out_of_scope_share: float = DEFAULT_OUT_OF_SCOPE_SHARE,
) -> Classifier | None:
    """The saved classifier if it was trained on this KB with these libraries, else None."""
    checked = _checked_card(directory, kb_digest, target_precision, out_of_scope_share)
    if checked is None:
        return None
    card, data = checked
    import skops.io as sio  # deferred: skops imports all of scikit-learn (~2 s, ~60 MB)
    from skops.io.exceptions import UntrustedTypesFoundException

    from mailbot.classify.calibrate import Calibration
    from mailbot.classify.model import Classifier

    try:  # loads checks every type before it builds anything (a separate check read the file twice)
        pipeline = _unpack(sio.loads(data, trusted=sorted(ALLOWED_TYPES) or None))
    except UntrustedTypesFoundException as exc:
        log.warning("model file %s contains types we do not load: %s", directory / MODEL_FILE, exc)
        return None
    calibration = Calibration(card["calibration"]["slope"], card["calibration"]["intercept"])
    return Classifier(
        pipeline,
        tuple(card["labels"]),
        calibration,
        float(card["threshold"]),
        card["version"],
        dict(card.get("validation", {})),
    )


def save_in_current_format(classifier: Classifier, directory: Path, kb: KnowledgeBase) -> bool:
    """A model just loaded from an older card format is written again in the current one (its card
    keeps when it was trained), so that the next load is the fast one; True if it was. A folder that
    cannot be written is left as it is (logged): the model still loads, only slower."""
    try:
        card = json.loads((directory / CARD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if card.get("format") == CARD_FORMAT:
        return False
    try:
        save(classifier, directory, kb.digest, kb, created_at=card.get("created_at"))
    except OSError as exc:
        log.warning("model in %s not saved again in the current format: %s", directory, exc)
        return False
    return True


def is_current(
    directory: Path,
    kb_digest: str,
    target_precision: float,
    out_of_scope_share: float = DEFAULT_OUT_OF_SCOPE_SHARE,
) -> bool:
    """Whether `load` would find a saved model for this KB: its card fits and the file is the one the
    card names. Cheap (a JSON file and a hash, no scikit-learn), so a start can tell whether it must
    train now or may load the model when the first mail needs it; logs why not, as `load` does."""
    return _checked_card(directory, kb_digest, target_precision, out_of_scope_share) is not None


def _checked_card(
    directory: Path, kb_digest: str, target_precision: float, out_of_scope_share: float
) -> tuple[dict[str, Any], bytes] | None:
    """The card and the model file's bytes when they fit this KB, settings and libraries, else None."""
    card_path, model_path = directory / CARD_FILE, directory / MODEL_FILE
    if not card_path.is_file() or not model_path.is_file():
        return None
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        log.warning("model card %s is unreadable (%s): retraining", card_path, exc)
        return None
    stale = _stale_reason(card, kb_digest, target_precision, out_of_scope_share)
    if stale:
        log.info("saved model in %s not used: %s", directory, stale)
        return None
    data = model_path.read_bytes()
    if hashlib.sha256(data).hexdigest() != card.get("model_sha256"):
        log.warning("model file %s does not match its card: retraining", model_path)
        return None
    return card, data


@dataclass(frozen=True)
class LastGood:
    """The saved model and the articles it was trained on, usable without the knowledge base."""

    kb: KnowledgeBase
    classifier: Classifier
    created_at: str


def last_good(
    directory: Path,
    kb_root: Path,
    target_precision: float,
    out_of_scope_share: float = DEFAULT_OUT_OF_SCOPE_SHARE,
) -> LastGood | None:
    """The saved model with its articles, whatever the KB on disk now says; None if either is missing
    or the model would not be loaded anyway (other target precision, libraries, a tampered file)."""
    try:
        card = json.loads((directory / CARD_FILE).read_text(encoding="utf-8"))
        kb_digest = str(card["kb_digest"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    kb = read_snapshot(directory, kb_digest, kb_root)
    if kb is None:
        return None
    classifier = load(directory, kb_digest, target_precision, out_of_scope_share)
    if classifier is None:
        return None
    return LastGood(kb, classifier, str(card.get("created_at", "?")))


def has_snapshot(directory: Path, kb: KnowledgeBase) -> bool:
    """Whether the articles of `kb` are saved beside its model (models saved before they were are not)."""
    return read_snapshot(directory, kb.digest, kb.root) is not None


def _stale_reason(
    card: dict[str, Any], kb_digest: str, target_precision: float, out_of_scope_share: float
) -> str | None:
    if card.get("format") not in READABLE_FORMATS or card.get("model") != MODEL_NAME:
        return f"it is a {card.get('model')} model (card format {card.get('format')}), we use {MODEL_NAME}"
    if card.get("kb_digest") != kb_digest:
        return "the knowledge base changed since it was trained"
    if card.get("validation", {}).get("target_precision") != target_precision:
        return "the configured target precision changed since it was trained"
    if card.get("validation", {}).get("out_of_scope_share") != out_of_scope_share:
        return "the configured out-of-scope share changed since it was trained"
    if card.get("libraries") != library_versions():
        return "library versions differ from the ones it was trained with"
    return None
