"""Raw e-mail bytes to ``ParsedMail``; the only package that touches mail-parser.

``parse_mail(raw)`` returns a ``ParsedMail`` or raises ``Quarantine(reason)``, nothing else.
"""

from mailbot.parse.core import derived_message_id, message_id_of, parse_mail

__all__ = ["derived_message_id", "message_id_of", "parse_mail"]
