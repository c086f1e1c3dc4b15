"""Match a customer's words to a knowledge-base article, and know when not to."""
