"""Outgoing mail: subject references, template rendering, MIME composition, outbox and delivery."""
