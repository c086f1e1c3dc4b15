"""Wire the parts of one mailbot installation together from its settings.

The models are loaded when the first mail needs them, not at start: scikit-learn and skops alone
take ~2 s and ~90 MB, which `run --once` on an empty mailbox, a client without mail and every
command that only reads the database need not pay. What can be wrong with them is still found at
start (`build_app`): the knowledge base and the severity examples are read and checked, and a saved
model that does not fit is trained then, as before. So scikit-learn is imported inside the
functions that need it (marked "deferred").
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from mailbot import logredact
from mailbot.classify import store
from mailbot.classify.severity_examples import SeverityExample, load_severity_examples
from mailbot.classify.snapshot import write_snapshot
from mailbot.clock import BusinessCalendar, Clock, system_clock
from mailbot.config import MESSAGE_ID_SECRET_ENV, ClassifierSettings, Settings, all_secrets, where_set
from mailbot.db.claims import Claimant
from mailbot.db.engine import make_session_factory, open_engine
from mailbot.db.health import DatabaseProblem, database_name
from mailbot.db.schema import InboundMail, InstallationSecret, Ticket
from mailbot.errors import ConfigError
from mailbot.heap import release_free_heap
from mailbot.ingest.imap import ImapSource
from mailbot.ingest.maildir import MaildirSource
from mailbot.ingest.source import MailSource
from mailbot.kb import KnowledgeBase, KnowledgeBaseError, load_knowledge_base
from mailbot.kb.loader import SAMPLE_HINT, tree_stamp
from mailbot.kb.validate import OUT_OF_SCOPE_ID
from mailbot.reply.render import TemplateRenderer

if TYPE_CHECKING:
    from mailbot.classify.model import Classifier
    from mailbot.classify.severity import SeverityModel

log = logging.getLogger(__name__)
FULL_LOOK_SECONDS = 60.0  # the knowledge base is read again at least this often, changed or not


def open_database(settings: Settings) -> tuple[Engine, sessionmaker[Session]]:
    """Checked and migrated (mailbot.db.engine.open_engine): a damaged or foreign database is one line."""
    engine = open_engine(settings.database.url)
    return engine, make_session_factory(engine)


def refuse_new_database(app: App, source: MailSource) -> None:
    """Before `mailbot run` takes mail: a database that holds no mail of this mailbox, while the
    mailbox's Processed folder already holds mail, is a lost database (deleted, zero bytes, a volume
    not mounted, the wrong URL), not a new installation; starting on it would hand out the ticket
    numbers of the lost one again, to other customers. DatabaseProblem then; TransientError when the
    mail server cannot be asked.

    Cheap: one indexed lookup, and only for a database without mail one look at the folder (IMAP
    STATUS, a Maildir listing). Mailbot moves every decided mail to Processed, so a Processed folder
    with mail is the mark an installation leaves in the mailbox itself, where a lost database cannot
    take it along.
    """
    with app.sessions() as session:
        if holds_mail(session, app.mailbox):
            return
    decided = source.processed_count()
    if decided:
        name = database_name(app.settings.database.url)
        raise DatabaseProblem(
            f"the database {name} holds no mail of mailbox {app.mailbox!r}, but the mailbox's Processed "
            f"folder ({source.name}) holds {decided} decided mail(s): mailbot has worked here with another "
            "database, and starting anew would give its ticket numbers to new tickets again; restore the "
            "database from a backup or correct [database] url (MAILBOT_DATABASE_URL); to start over on "
            "purpose, first move the mail out of the Processed folder"
        )


def holds_mail(session: Session, mailbox: str) -> bool:
    for column, owner in ((InboundMail.id, InboundMail.mailbox), (Ticket.id, Ticket.mailbox)):
        if session.scalar(select(column).where(owner == mailbox).limit(1)) is not None:
            return True
    return False


@dataclass
class App:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock = system_clock
    owns_engine: bool = True  # False for a client of several: the installation's Fleet closes the engine
    claimant: Claimant = field(default_factory=Claimant)  # a fleet's apps share their worker's

    @property
    def mailbox(self) -> str:
        return self.settings.support.mailbox

    @cached_property
    def kb(self) -> KnowledgeBase:
        return load_configured_kb(self.settings)

    @cached_property
    def classifier(self) -> Classifier:
        classifier = load_or_train(self.kb, self.settings.classifier)
        release_free_heap()  # loading or training it left ~20 MB of scratch memory (mailbot.heap)
        return classifier

    @cached_property
    def severity_examples(self) -> tuple[SeverityExample, ...]:
        """`_severity/`, read and checked (KnowledgeBaseError); cheap, so done at start (build_app)."""
        root = self.settings.knowledge_base.path
        self.__dict__["severity_files"] = severity_files_digest(root)
        return tuple(load_severity_examples(root))

    @cached_property
    def severity(self) -> SeverityModel:
        """Small enough to train when first needed (well under a second): nothing stored, nothing stale.
        Clients with the same examples share the model (`shared_severity_model`)."""
        from mailbot.classify.severity import shared_severity_model  # deferred: scikit-learn

        return shared_severity_model(self.severity_examples)

    def refresh_knowledge_base(self) -> bool:
        """Reload the KB when its files changed, and retrain; an invalid KB keeps the old one (logged).

        Reading and checking every article took ~100 ms, at every pass of the worker (so before every
        reply under IDLE); the files' stamp is compared first, and they are read again when it changed,
        or after FULL_LOOK_SECONDS in any case (a file system with coarse times may hide an edit)."""
        stamp = tree_stamp(self.settings.knowledge_base.path)
        looked = self.__dict__.get("kb_looked_at")
        now = time.monotonic()
        if stamp == self.__dict__.get("kb_stamp") and looked is not None and now - looked < FULL_LOOK_SECONDS:
            return False
        self.__dict__["kb_stamp"], self.__dict__["kb_looked_at"] = stamp, now
        try:
            kb = load_configured_kb(self.settings)
        except ConfigError as exc:
            if str(exc) != self.__dict__.get("kb_problems"):  # once per edit, not at every pass
                self.__dict__["kb_problems"] = str(exc)
                log.error(
                    "mailbox %s: knowledge base changed but has problems; still using the previous one:\n%s",
                    self.mailbox,
                    exc,
                )
            return False
        self.__dict__.pop("kb_problems", None)
        if kb.digest == self.kb.digest:
            return self._refresh_severity()
        log.info("knowledge base changed: retraining")
        self.__dict__["kb"] = kb
        for name in ("classifier", "severity", "severity_examples"):
            self.__dict__.pop(name, None)
        _ = self.classifier, self.severity
        return True

    def _refresh_severity(self) -> bool:
        """Agents edit `_severity/` too: retrain the severity model when its files changed."""
        root = self.settings.knowledge_base.path
        files = severity_files_digest(root)
        if files == self.__dict__.get("severity_files"):
            return False
        self.__dict__["severity_files"] = files  # a broken edit is reported once, not on every pass
        from mailbot.classify.severity import shared_severity_model  # deferred: scikit-learn

        try:
            examples = tuple(load_severity_examples(root))
            model = shared_severity_model(examples)
        except ConfigError as exc:
            log.error("severity examples changed but have problems; still using the previous ones:\n%s", exc)
            return False
        log.info("severity examples changed: retrained")
        self.__dict__["severity_examples"], self.__dict__["severity"] = examples, model
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
        return TemplateRenderer(self.settings.templates.directories, self.settings.branding)

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
        if self.owns_engine:
            self.engine.dispose()


def severity_files_digest(kb_root: Path) -> str:
    """Names, sizes and modification times of `_severity/*.md`: enough to notice an edit."""
    files = sorted((kb_root / "_severity").glob("*.md"))
    return "|".join(f"{f.name}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in files)


def load_configured_kb(settings: Settings) -> KnowledgeBase:
    """The knowledge base the configuration names; a missing folder's fix names the config key."""
    fix = (
        f"set {where_set(settings, '[knowledge_base] path')} to your articles' folder (a relative path "
        f"counts from the configuration file); {SAMPLE_HINT}"
    )
    return load_knowledge_base(settings.knowledge_base.path, missing_fix=fix)


def load_or_train(kb: KnowledgeBase, settings: ClassifierSettings) -> Classifier:
    """The saved model when it fits this KB, else a freshly trained one (saved for the next start)."""
    from mailbot.classify.model import train  # deferred: scikit-learn

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
            card = store.save(classifier, settings.model_dir, kb.digest, kb)
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
        if store.save_in_current_format(classifier, settings.model_dir, kb):
            log.info("classifier %s saved again in the current format (it loads faster)", classifier.version)
        elif not store.has_snapshot(settings.model_dir, kb):  # saved before models kept their articles
            write_snapshot(kb, settings.model_dir)
    return _configured_threshold(classifier, settings)


def _configured_threshold(classifier: Classifier, settings: ClassifierSettings) -> Classifier:
    return classifier if settings.threshold is None else replace(classifier, threshold=settings.threshold)


def load_kb_and_classifier(
    settings: Settings, *, escalate_without_kb: bool = False
) -> tuple[KnowledgeBase, Classifier]:
    """The knowledge base and its model; a KB that does not load keeps the last good model
    (`start_kb_and_classifier`, which see)."""
    kb, classifier = start_kb_and_classifier(settings, escalate_without_kb=escalate_without_kb)
    return kb, classifier if classifier is not None else load_or_train(kb, settings.classifier)


def start_kb_and_classifier(
    settings: Settings, *, escalate_without_kb: bool = False
) -> tuple[KnowledgeBase, Classifier | None]:
    """The knowledge base, and its model unless the saved one fits (None: load it when first needed,
    `App.classifier`); a KB that does not load keeps the last good model.

    Whatever can fail is done here, at start: reading and checking the articles, and training when
    the saved model does not fit them (so a start after an edit or an upgrade trains before the
    first mail, as it always did); only loading a fitting model waits for the first mail.

    An agent's broken edit must not stop the mail, at start-up no more than while the worker runs
    (App.refresh_knowledge_base): the problems are logged at ERROR with file, line and fix, and the
    saved model answers with the articles saved beside it. With no saved model, the problems stop
    the start as before; or, with `escalate_without_kb` (one client of several, whose colleagues must
    keep running), the client runs on an empty knowledge base: every mail is escalated, none is
    answered, until the articles are fixed (the worker picks the fix up like any edit).
    """
    try:
        kb = load_configured_kb(settings)
    except KnowledgeBaseError as exc:
        from mailbot.classify.model import train  # deferred: scikit-learn

        model = settings.classifier
        good = store.last_good(
            model.model_dir, settings.knowledge_base.path, model.target_precision, model.out_of_scope_share
        )
        if good is None and escalate_without_kb:
            log.error(
                "client %s: the knowledge base has problems and there is no saved model; escalating "
                "every mail until they are fixed:\n%s",
                settings.support.mailbox,
                exc,
            )
            empty = KnowledgeBase(settings.knowledge_base.path, (), "broken", None)
            return empty, _configured_threshold(train(empty, model.target_precision), model)
        if good is None:
            raise
        log.error(
            "the knowledge base has problems; answering with the last good model %s (saved %s) and "
            "its %d articles until they are fixed:\n%s",
            good.classifier.version,
            good.created_at,
            len(good.kb.articles),
            exc,
        )
        return good.kb, _configured_threshold(good.classifier, model)
    model = settings.classifier
    if store.is_current(model.model_dir, kb.digest, model.target_precision, model.out_of_scope_share):
        return kb, None
    return kb, load_or_train(kb, model)


def build_app(
    settings: Settings,
    clock: Clock = system_clock,
    *,
    database: tuple[Engine, sessionmaker[Session]] | None = None,
    renderer: TemplateRenderer | None = None,
    escalate_without_kb: bool = False,
) -> App:
    """Open (and migrate) the database; read KB, severity examples and templates now so errors show at
    start-up (and train a model that does not fit); load the models when the first mail needs them.

    `database` and `renderer`: shared by the clients of one installation (mailbot.clients.fleet).
    `escalate_without_kb`: a client of several runs on with a knowledge base that does not load (it
    escalates everything) instead of stopping the start (load_kb_and_classifier).
    """
    app = _app_on(settings, clock, database)
    if renderer is not None:
        app.__dict__["renderer"] = renderer
    kb, classifier = start_kb_and_classifier(settings, escalate_without_kb=escalate_without_kb)
    app.__dict__["kb"] = kb
    if classifier is not None:
        app.__dict__["classifier"] = classifier
    try:
        _ = app.severity_examples
    except KnowledgeBaseError as exc:  # like a broken article: run on, say so
        log.error(
            "the severity examples have problems; guessing severity from the signals alone until they "
            "are fixed:\n%s",
            exc,
        )
        app.__dict__["severity_examples"] = ()
    _ = app.renderer, app.calendar, app.message_id_key
    return app


def open_app(
    settings: Settings,
    clock: Clock = system_clock,
    *,
    database: tuple[Engine, sessionmaker[Session]] | None = None,
) -> App:
    """The database and the business calendar only, for commands that read and write rows but neither
    fetch nor decide mail (status, tickets, quarantine): no password needed, no model loaded or trained.

    The knowledge base, the models and the templates stay lazy: a command that needs one loads it.
    """
    app = _app_on(settings, clock, database)
    _ = app.calendar
    return app


def _app_on(settings: Settings, clock: Clock, database: tuple[Engine, sessionmaker[Session]] | None) -> App:
    """An App on the installation's shared database, or on its own (which it then closes): only an
    App of its own installs the log filter; a Fleet installs one for all its clients."""
    if database is not None:
        return App(settings, *database, clock, owns_engine=False)
    logredact.install(all_secrets(settings), settings.privacy.redact_addresses)
    return App(settings, *open_database(settings), clock)
