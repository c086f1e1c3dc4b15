"""The forked helpers of a pass over a backlog: one process composing outgoing mail
(mailbot.reply.compose_pool), one parsing and classifying (mailbot.pipeline.prepare_pool).

Started together, in that order (the prepare pool runs threads of its own, which must not exist when
the compose process forks), and ended together. `process_pending` starts them once its first claim
is a whole batch; `run --once` starts them earlier, as soon as the mail server has named a backlog
and before its bytes are fetched, so that the parsing process reads the models while the worker
fetches (mailbot.worker.run_cycle). The worker does not import scikit-learn for them: only
the parsing process's models need it (incident grouping counts n-grams without it,
mailbot.tickets.incidents), and that process imports it while the worker fetches.
"""

from __future__ import annotations

from dataclasses import dataclass

from mailbot.app import App
from mailbot.pipeline.prepare_pool import PreparePool
from mailbot.reply.compose_pool import ComposePool


@dataclass
class Helpers:
    composer: ComposePool | None
    preparer: PreparePool | None

    @classmethod
    def start(cls, app: App, *, models_in_child: bool = False, parses_in_child: bool = True) -> Helpers:
        """Both processes, or None for the one that could not be forked (the worker does its work).
        `models_in_child`: the parsing process reads the models itself; `parses_in_child` False: it
        only guesses, the worker parses (see PreparePool)."""
        composer = ComposePool.for_backlog(app.renderer, app.engine)
        preparer = PreparePool.for_backlog(
            app, models_in_child=models_in_child, parses_in_child=parses_in_child
        )
        return cls(composer, preparer)

    def close(self) -> None:
        if self.preparer is not None:
            self.preparer.close()
        if self.composer is not None:
            self.composer.close()
