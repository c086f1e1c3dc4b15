"""Wire the parts of one mailbot installation together from its settings."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from mailbot.classify.model import Classifier, train
from mailbot.clock import BusinessCalendar, Clock, system_clock
from mailbot.config import Settings
from mailbot.db.engine import make_engine, make_session_factory
from mailbot.db.migrate import upgrade
from mailbot.ingest.imap import ImapSource
from mailbot.ingest.maildir import MaildirSource
from mailbot.ingest.source import MailSource
from mailbot.kb import KnowledgeBase, load_knowledge_base
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
        classifier = train(self.kb, self.settings.classifier.threshold)
        log.info(
            "classifier %s trained on %d articles (%d topics)",
            classifier.version,
            len(self.kb.articles),
            len(classifier.labels),
        )
        return classifier

    @cached_property
    def renderer(self) -> TemplateRenderer:
        return TemplateRenderer(self.settings.templates.path)

    @cached_property
    def calendar(self) -> BusinessCalendar:
        return BusinessCalendar.from_settings(self.settings.business_hours)

    def make_source(self) -> MailSource:
        if self.settings.imap is not None:
            return ImapSource(self.settings.imap, self.mailbox, self.sessions, self.clock)
        assert self.settings.maildir is not None  # Settings guarantees exactly one source
        return MaildirSource(self.settings.maildir, self.mailbox, self.sessions, self.clock)

    def close(self) -> None:
        self.engine.dispose()


def build_app(settings: Settings, clock: Clock = system_clock) -> App:
    """Open (and migrate) the database; load KB, model and templates now so errors show at start-up."""
    engine, sessions = open_database(settings)
    app = App(settings, engine, sessions, clock)
    _ = app.renderer, app.classifier, app.calendar
    return app
