"""Wire the parts of one mailbot installation together from its settings."""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from mailbot import logredact
from mailbot.classify import store
from mailbot.classify.model import Classifier, train
from mailbot.classify.severity import SeverityModel, load_severity_examples, train_severity
from mailbot.clock import BusinessCalendar, Clock, system_clock
from mailbot.config import MESSAGE_ID_SECRET_ENV, ClassifierSettings, Settings, all_secrets
from mailbot.db.engine import make_engine, make_session_factory
from mailbot.db.migrate import upgrade
from mailbot.db.schema import InstallationSecret
from mailbot.errors import ConfigError
from mailbot.ingest.imap import ImapSource
from mailbot.ingest.maildir import MaildirSource
from mailbot.ingest.source import MailSource
from mailbot.kb import KnowledgeBase, load_knowledge_base
from mailbot.kb.validate import OUT_OF_SCOPE_ID
from mailbot.reply.render import TemplateRenderer

log = logging.getLogger(__name__)


def open_database(settings: Settings) -> tuple[Engine, sessionmaker[Session]]:
    engine = make_engine(settings.database.url)
    upgrade(engine)
    return engine, make_session_factory(engine)


@dataclass
class App:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock = system_clock

    @property
    def mailbox(self) -> str:
        return self.settings.support.mailbox

    @cached_property
    def kb(self) -> KnowledgeBase:
        return load_knowledge_base(self.settings.knowledge_base.path)

    @cached_property
    def classifier(self) -> Classifier:
        return load_or_train(self.kb, self.settings.classifier)

    @cached_property
    def severity(self) -> SeverityModel:
        """Small enough to train at every start (well under a second): nothing stored, nothing stale."""
        root = self.settings.knowledge_base.path
        self.__dict__["severity_files"] = severity_files_digest(root)
        return train_severity(load_severity_examples(root))

    def refresh_knowledge_base(self) -> bool:
        """Reload the KB when its files changed, and retrain; an invalid KB keeps the old one (logged)."""
        try:
            kb = load_knowledge_base(self.settings.knowledge_base.path)
        except ConfigError as exc:
            log.error("knowledge base changed but has problems; still using the previous one:\n%s", exc)
            return False
        if kb.digest == self.kb.digest:
            return self._refresh_severity()
        log.info("knowledge base changed: retraining")
        self.__dict__["kb"] = kb
        self.__dict__.pop("classifier", None)
        self.__dict__.pop("severity", None)
        _ = self.classifier, self.severity
        return True

    def _refresh_severity(self) -> bool:
        """Agents edit `_severity/` too: retrain the severity model when its files changed."""
        root = self.settings.knowledge_base.path
        files = severity_files_digest(root)
        if files == self.__dict__.get("severity_files"):
            return False
        self.__dict__["severity_files"] = files  # a broken edit is reported once, not on every pass
        try:
            model = train_severity(load_severity_examples(root))
        except ConfigError as exc:
            log.error("severity examples changed but have problems; still using the previous ones:\n%s", exc)
            return False
        log.info("severity examples changed: retrained")
        self.__dict__["severity"] = model
        return True

    @cached_property
    def message_id_key(self) -> bytes:
        """The key that signs our Message-IDs: MAILBOT_MESSAGE_ID_SECRET, or one made once and kept in
        the database, so that every worker of the mailbox (and every restart) signs alike."""
        configured = os.environ.get(MESSAGE_ID_SECRET_ENV)
        if configured:
            return configured.encode()
        with self.sessions.begin() as session:
            stored = session.get(InstallationSecret, (self.mailbox, "message_id_key"))
            if stored is None:
                stored = InstallationSecret(
                    mailbox=self.mailbox, name="message_id_key", value=secrets.token_hex(32)
                )
                session.add(stored)
            value = stored.value
        return value.encode()

    @cached_property
    def renderer(self) -> TemplateRenderer:
        return TemplateRenderer(self.settings.templates.directory)

    @cached_property
    def calendar(self) -> BusinessCalendar:
        return BusinessCalendar.from_settings(self.settings.business_hours)

    def make_source(self) -> MailSource:
        if self.settings.imap is not None:
            limit = self.settings.limits.max_message_bytes
            return ImapSource(self.settings.imap, self.mailbox, self.sessions, self.clock, max_bytes=limit)
        assert self.settings.maildir is not None  # Settings guarantees exactly one source
        limit = self.settings.limits.max_message_bytes
        return MaildirSource(self.settings.maildir, self.mailbox, self.sessions, self.clock, max_bytes=limit)

    def close(self) -> None:
        self.engine.dispose()


def severity_files_digest(kb_root: Path) -> str:
    """Names, sizes and modification times of `_severity/*.md`: enough to notice an edit."""
    files = sorted((kb_root / "_severity").glob("*.md"))
    return "|".join(f"{f.name}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in files)


def load_or_train(kb: KnowledgeBase, settings: ClassifierSettings) -> Classifier:
    """The saved model when it fits this KB, else a freshly trained one (saved for the next start)."""
    classifier = store.load(
        settings.model_dir, kb.digest, settings.target_precision, settings.out_of_scope_share
    )
    if classifier is None:
        if kb.out_of_scope is None:
            log.warning(
                "%s has no %s.md: the threshold only guards against mixing up articles, not against "
                "mail that no article answers; add examples of such mail there (see knowledge_base/)",
                kb.root,
                OUT_OF_SCOPE_ID,
            )
        classifier = train(kb, settings.target_precision, settings.out_of_scope_share, progress=log.info)
        if classifier.pipeline is not None:
            card = store.save(classifier, settings.model_dir, kb.digest)
            log.info(
                "classifier %s trained in %.1f s: threshold %.3f "
                "(cross-validated precision %.3f, coverage %.3f), %d bytes in %s",
                classifier.version,
                classifier.validation.get("train_seconds", 0.0),
                classifier.threshold,
                classifier.validation.get("cv_precision", 0.0),
                classifier.validation.get("cv_coverage", 0.0),
                card["model_bytes"],
                settings.model_dir,
            )
    else:
        log.info("classifier %s loaded from %s", classifier.version, settings.model_dir)
    if settings.threshold is not None:
        classifier = replace(classifier, threshold=settings.threshold)
    return classifier


def build_app(settings: Settings, clock: Clock = system_clock) -> App:
    """Open (and migrate) the database; load KB, model and templates now so errors show at start-up."""
    logredact.install(all_secrets(settings), settings.privacy.redact_addresses)
    engine, sessions = open_database(settings)
    app = App(settings, engine, sessions, clock)
    _ = app.renderer, app.classifier, app.severity, app.calendar, app.message_id_key
    return app


def open_app(settings: Settings, clock: Clock = system_clock) -> App:
    """The database and the business calendar only, for commands that read and write rows but neither
    fetch nor decide mail (status, tickets, quarantine): no password needed, no model loaded or trained.

    The knowledge base, the models and the templates stay lazy: a command that needs one loads it.
    """
    logredact.install(all_secrets(settings), settings.privacy.redact_addresses)
    engine, sessions = open_database(settings)
    app = App(settings, engine, sessions, clock)
    _ = app.calendar
    return app
