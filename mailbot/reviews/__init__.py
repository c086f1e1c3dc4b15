"""App-store reviews: what a review says, what to do with it, the reply and its check (issue 16).

Pure modules: `detect` (what the text says), `decide` (the decision table), `compose` (the reply draft
from `templates/reviews/`), `checker` (what a public reply must never contain). Polling, storing and
posting live elsewhere and hand these modules plain values.
"""
