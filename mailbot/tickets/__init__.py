"""Tickets: one per customer conversation, found again by threading headers or subject reference."""
