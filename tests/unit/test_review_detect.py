"""The review detectors on realistic German and English store reviews (issue 16).

Each row is a review as reviewers write them (typos, ALL CAPS, emojis, one word) and the findings it must
produce; the near misses are texts that use the same words without meaning them ("stürzt nie ab", "not
great", "Scheiß-Update" is frustration, not abuse). The reasons quote the reviewer's own words.
"""

from __future__ import annotations

import time

import pytest

from mailbot.reviews.detect import DETECTORS, MAX_REVIEW_CHARS, Finding, detect, found

ABUSE, LEGAL, REFUND, PAYMENT = Finding.ABUSE, Finding.LEGAL, Finding.REFUND, Finding.PAYMENT
BUG, QUESTION, PRAISE = Finding.BUG, Finding.QUESTION, Finding.PRAISE


def findings(title: str, body: str) -> set[Finding]:
    return {hit.finding for hit in detect(title, body)}


CASES = [
    # praise, short and long
    ("Top!", "", {PRAISE}),
    ("", "👍", {PRAISE}),
    ("⭐⭐⭐⭐⭐", "", {PRAISE}),
    ("Super", "Nutze die App jeden Tag, klappt einwandfrei. Weiter so!", {PRAISE}),
    ("Mega App", "Kann ich nur empfehlen 😍", {PRAISE}),
    ("Love it", "Great app, works perfectly. Thanks!", {PRAISE}),
    ("", "Loooove it ❤️", {PRAISE}),
    ("SEHR GUT", "BESTE APP FÜR MEIN TRAINING", {PRAISE}),
    ("Super App", "Besser geht es nicht. Stürzt nie ab, keine Probleme.", {PRAISE}),
    ("Solid", "Never crashed once, no bugs so far. Highly recommended!", {PRAISE}),
    # bugs and crashes
    ("Scheiß-Update", "Seit dem Update stürzt die App ständig ab!!!", {BUG}),
    ("ABSOLUTER MÜLL", "STÜRZT STÄNDIG AB, NICHTS GEHT MEHR", {BUG}),
    ("", "Stürtzt bei jedem Start ab", {BUG}),
    ("Absturtz", "nach dem öffnen sofort absturtz", {BUG}),
    ("", "Seit gestern kann ich mich nicht mehr einloggen", {BUG}),
    ("Useless", "App keeps crashing on my Pixel 8 since the last update", {BUG}),
    ("", "Won't open anymore, just a white screen", {BUG}),
    ("Buggy", "So buggy, my workouts are gone after the update 😡", {BUG}),
    ("Super, mal wieder", "Super, stürzt schon wieder ab 🙄", {BUG, PRAISE}),
    # payment faults
    ("Abzocke", "Zweimal abgebucht und Premium ist immer noch nicht freigeschaltet.", {PAYMENT}),
    ("", "Abo bezahlt aber die Pro Version wird nicht freigeschaltet", {PAYMENT}),
    ("", "I paid for premium but it’s still locked", {PAYMENT}),
    ("Charged twice", "I was charged twice for the yearly plan", {PAYMENT}),
    ("", "Subscription not active even though I paid yesterday", {PAYMENT}),
    ("", "Trotz Kündigung wieder abgebucht!", {PAYMENT}),
    # refunds
    ("", "Ich will mein Geld zurück!", {REFUND}),
    ("Refund", "I want a refund, the app does nothing it promises", {REFUND}),
    ("", "Bitte Rückerstattung, habe aus Versehen das Jahresabo gekauft", {REFUND}),
    # legal threats
    ("", "Ich schalte meinen Anwalt ein und gehe zur Verbraucherzentrale", {LEGAL}),
    ("", "Strafanzeige erstatten werde ich!", {LEGAL}),
    ("SCAM", "This is a scam, reported to my bank", {LEGAL}),
    ("", "See you in court. My lawyer will contact you.", {LEGAL}),
    # abuse: insults aimed at people
    ("", "Ihr seid Idioten, scheiß Entwickler", {ABUSE}),
    ("", "fuck you devs", {ABUSE}),
    ("", "f*ck you", {ABUSE}),
    ("Arschlöcher", "", {ABUSE}),
    ("", "stupid developers, the login doesn't work", {ABUSE, BUG}),
    ("", "🖕", {ABUSE}),
    # questions
    ("", "How do I export my workouts to Strava?", {QUESTION}),
    ("Wie kann ich mein Abo kündigen", "", {QUESTION}),
    ("Frage", "gibt es einen dunkelmodus", {QUESTION}),
    ("Dark mode?", "Tolle App, gibt es bald einen Dark Mode?", {QUESTION, PRAISE}),
]

NEAR_MISSES = [
    # swearing at a thing is frustration, not abuse
    ("Scheiß-Update", "Seit dem Scheiß-Update lädt nichts mehr", {BUG}),
    ("", "fucking great app", {PRAISE}),
    ("", "Mist, schon wieder kein Empfang im Keller", set()),
    # "idiot" in a word that is praise
    ("", "idiotensicher, einfach zu bedienen", {PRAISE}),
    # negated praise
    ("Not great", "Not so great, would not recommend", set()),
    ("", "nicht so toll wie früher", set()),
    ("", "super langsam und nervig", set()),
    ("", "Danke für nichts.", set()),
    # fault words denied or settled
    ("", "Früher stürzte sie ab, jetzt funktioniert alles wieder.", set()),
    ("", "Ich hatte noch nie Probleme mit der App", set()),
    # legal words in other senses
    ("", "The tennis court booking works great", {PRAISE}),
    ("", "Leckere Gerichte im Rezeptteil", set()),
    ("", "Die Anzeige der Kalorien ist praktisch", set()),
    # refund words in other senses
    ("", "Kosten werden von der Krankenkasse erstattet? Wäre toll.", {PRAISE, QUESTION, REFUND}),
    # money words without a fault
    ("", "Premium lohnt sich, habe gern bezahlt", set()),
    # no question: "?" alone is not a question
    ("", "Hä?", set()),
    ("", "Warum nicht gleich so! Jetzt top", {PRAISE}),
]


@pytest.mark.parametrize(("title", "body", "expected"), CASES + NEAR_MISSES)
def test_findings_of_realistic_reviews(title: str, body: str, expected: set[Finding]):
    assert findings(title, body) == expected


def test_the_reason_quotes_the_reviewers_words_as_written():
    hits = detect("ABSOLUTER MÜLL", "STÜRZT STÄNDIG AB, NICHTS GEHT MEHR")
    bug = found(hits, BUG)
    assert bug is not None
    assert bug.reason == 'bug: "STÜRZT STÄNDIG AB"'
    payment = found(detect("", "Ich wurde 2 mal abgebucht"), PAYMENT)
    assert payment is not None and '"2 mal abgebucht"' in payment.reason  # the number as written, not "0"


def test_the_question_reason_is_the_sentence_of_the_body_not_the_title():
    hit = found(detect("Passwort", "Wie kann ich mein Passwort zurücksetzen?"), QUESTION)
    assert hit is not None
    assert hit.reason == 'question: "Wie kann ich mein Passwort zurücksetzen?"'
    asked = found(detect("Password?", "How do I reset my password? Nice app otherwise"), QUESTION)
    assert asked is not None and asked.reason == 'question: "How do I reset my password?"'


def test_hits_come_in_table_order():
    hits = detect("Refund", "Idiots. Charged twice and it crashes. Why?")
    order = [detector.finding for detector in DETECTORS]
    assert [hit.finding for hit in hits] == sorted((hit.finding for hit in hits), key=order.index)
    assert {hit.finding for hit in hits} == {ABUSE, REFUND, PAYMENT, BUG, QUESTION}


def test_empty_and_whitespace_reviews_find_nothing():
    assert detect("", "") == ()
    assert detect("  ", "\n\t") == ()


def test_a_huge_review_is_read_in_bounded_time():
    body = ("stürzt " * 200_000) + "x" * 100_000 + ("zahlung" * 50_000)
    started = time.monotonic()
    detect("a" * 1_000_000, body)
    assert time.monotonic() - started < 5
    assert len(body) > MAX_REVIEW_CHARS
