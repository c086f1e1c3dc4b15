"""What mailbot holds about a person, for the rights of the person (GDPR Art. 15 and 17; issue 15)."""
