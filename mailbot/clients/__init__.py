"""Many clients in one installation: each client's settings from mailbot.toml and its client.toml,
checked against each other, and served from one database (`Fleet`)."""

from mailbot.clients.loading import Installation, load_installation

__all__ = ["Installation", "load_installation"]
