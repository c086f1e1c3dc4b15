"""The clients of one installation at run time: one database, one App per client, reloaded on edits.

What the clients share is made once: the database engine and a template renderer per distinct set of
template folders. What is a client's own is its App: settings, knowledge base and models, calendar,
mail source. So memory grows with the clients' models, not with a copy of everything per client.

A client that cannot start (broken client.toml, a clash, an unreadable knowledge base with no saved
model is NOT among them: that client escalates everything) is reported with its problem and left out;
the others run. `reload()` reads the files again: new clients start, removed ones stop (their rows
stay), changed ones restart with the new settings, and a change that breaks a running client keeps
it running on its previous settings, as an agent's broken knowledge-base edit does.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from mailbot import logredact
from mailbot.app import App, build_app, open_app, refuse_new_database
from mailbot.clients.clashes import clashes
from mailbot.clients.loading import Installation, load_installation
from mailbot.clock import Clock, system_clock
from mailbot.config import Settings, all_secrets
from mailbot.db.claims import Claimant
from mailbot.db.engine import make_session_factory, open_engine
from mailbot.db.health import DatabaseProblem
from mailbot.errors import ConfigError, TransientError
from mailbot.reply.render import TemplateRenderer

log = logging.getLogger(__name__)


@dataclass
class Reload:
    """What a reload changed: old Apps to stop (removed or changed clients), new Apps to start."""

    stopped: dict[str, App] = field(default_factory=dict)
    started: dict[str, App] = field(default_factory=dict)


@dataclass
class Fleet:
    installation: Installation
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock = system_clock
    full: bool = True  # build_app (models, templates, passwords) rather than open_app (database only)
    apps: dict[str, App] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)
    _renderers: dict[tuple[Path, ...], TemplateRenderer] = field(default_factory=dict)
    _seen: dict[str, str] = field(default_factory=dict)  # slug → fingerprint of the files last looked at
    only: str | None = None  # `--client`: this client alone, also after a reload
    claimant: Claimant = field(default_factory=Claimant)  # names its apps' claims (a fleet worker's id)

    @classmethod
    def open(
        cls,
        installation: Installation,
        clock: Clock = system_clock,
        *,
        full: bool = True,
        only: str | None = None,
    ) -> Fleet:
        """Every usable client of `installation` (or the one `only` names: ConfigError if it is broken)."""
        selected = installation.select(only)
        engine = open_engine(installation.database_url)
        fleet = cls(installation, engine, make_session_factory(engine), clock, full, only=only)
        fleet.problems = {} if only is not None else dict(installation.problems)
        fleet._seen = dict(installation.fingerprints)
        for slug, settings in selected.items():
            app = fleet._build(slug, settings, strict=not installation.several or only is not None)
            if app is not None:
                fleet.apps[slug] = app
        fleet._install_log_filter()
        return fleet

    def __iter__(self) -> Iterator[App]:
        return iter(self.apps[slug] for slug in sorted(self.apps))

    def _build(self, slug: str, settings: Settings, *, strict: bool) -> App | None:
        """The client's App; a client that cannot start is a problem (raised when `strict`)."""
        try:
            if not self.full:
                app = open_app(settings, self.clock, database=(self.engine, self.sessions))
            else:
                app = build_app(
                    settings,
                    self.clock,
                    database=(self.engine, self.sessions),
                    renderer=self._renderer(settings),
                    escalate_without_kb=self.installation.several,
                )
        except ConfigError as exc:
            if strict:
                raise
            self.problems[slug] = str(exc)
            log.error("client %s not started:\n%s", slug, exc)
            return None
        app.claimant = self.claimant
        return app

    def _renderer(self, settings: Settings) -> TemplateRenderer:
        """Clients with the same template folders share the compiled templates; each signs with its
        own branding."""
        key = tuple(settings.templates.directories)
        if key not in self._renderers:
            self._renderers[key] = TemplateRenderer(settings.templates.directories, settings.branding)
        return self._renderers[key].with_branding(settings.branding)

    def _install_log_filter(self) -> None:
        """Every client's secrets are scrubbed from every log line; addresses when any client asks."""
        secrets = [value for app in self.apps.values() for value in all_secrets(app.settings)]
        redact = any(app.settings.privacy.redact_addresses for app in self.apps.values())
        logredact.install(secrets, redact)

    def reload(self) -> Reload:
        """Read the files again and start, stop or restart the clients that changed.

        A client's files are looked at again only when they changed since the last look (`seen`), so
        a broken edit is reported once, not at every reload.
        """
        try:
            new = load_installation(self.installation.path, require_secrets=self.full)
        except ConfigError as exc:
            if str(exc) != self._seen.get(""):
                self._seen[""] = str(exc)
                log.error("configuration has problems; the clients keep running as they were:\n%s", exc)
            return Reload()
        self._seen.pop("", None)
        if self.only is not None:
            new = replace(
                new,
                clients={s: c for s, c in new.clients.items() if s == self.only},
                problems={s: p for s, p in new.problems.items() if s == self.only},
            )
        new = self._without_clashes_with_kept(new)
        change = Reload()
        for slug in sorted(set(self.apps) - set(new.clients) - set(new.problems)):
            log.info("client %s removed: no longer served (its tickets and mail stay in the database)", slug)
            change.stopped[slug] = self.apps.pop(slug)
            self._seen.pop(slug, None)
        for slug, problem in sorted(new.problems.items()):
            if new.fingerprints.get(slug) != self._seen.get(slug):
                self._seen[slug] = new.fingerprints.get(slug, "")
                running = "still served with its previous settings" if slug in self.apps else "not served"
                log.error("client %s has problems (%s):\n%s", slug, running, problem)
        self.problems = {slug: problem for slug, problem in new.problems.items() if slug not in self.apps}
        for slug, settings in sorted(new.clients.items()):
            if new.fingerprints[slug] == self._seen.get(slug):
                continue
            self._seen[slug] = new.fingerprints[slug]
            app = self._build(slug, settings, strict=False)
            if app is None:
                continue
            if slug in self.apps:
                log.info("client %s changed: restarting it with the new settings", slug)
                change.stopped[slug] = self.apps[slug]
            else:
                log.info("client %s added: serving %s", slug, settings.support.address)
            self.apps[slug] = change.started[slug] = app
            self.problems.pop(slug, None)
        self.installation = new
        if change.started or change.stopped:
            self._install_log_filter()
        return change

    def _without_clashes_with_kept(self, new: Installation) -> Installation:
        """A running client whose edit is broken keeps its previous settings, so a new or changed
        client must not take its prefix, address or mailbox meanwhile."""
        kept = {slug: self.apps[slug].settings for slug in new.problems if slug in self.apps}
        if not kept:
            return new
        found = clashes({**new.clients, **kept})
        refused = {slug: "\n".join(found[slug]) for slug in new.clients if slug in found}
        if not refused:
            return new
        clients = {slug: c for slug, c in new.clients.items() if slug not in refused}
        return replace(new, clients=clients, problems={**new.problems, **refused})

    def vet_new(self, slug: str) -> bool:
        """The lost-database check `mailbot run` makes at start (mailbot.app.refuse_new_database), for a
        client that a reload added: a database without its mail while its Processed folder holds some
        is not this client's, and it is not served (said why). A mail server that cannot be asked
        leaves it out until the next reload asks again."""
        app = self.apps[slug]
        source = app.make_source()
        try:
            refuse_new_database(app, source)
            return True
        except (DatabaseProblem, TransientError) as exc:
            retry = isinstance(exc, TransientError)
            log.error(
                "client %s not started%s: %s", slug, " (asked again at the next reload)" if retry else "", exc
            )
            self.problems[slug] = str(exc)
            if retry:
                self._seen.pop(slug, None)
            self.apps.pop(slug).close()
            return False
        finally:
            source.close()

    def close(self) -> None:
        for app in self.apps.values():
            app.close()
        self.engine.dispose()
