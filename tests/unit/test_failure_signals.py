"""Issue 14: the failure-signal detector over a customer's follow-up to an automatic answer.

The cases are written the way customers reply to an automatic answer, in German and English; each row
says what the reply means (negative, a person wanted, nothing). The evidence is checked too: it must be
a phrase of the reply itself, short, and say why.
"""

from __future__ import annotations

import pytest

from mailbot.reports.failure import (
    MAX_CHARS,
    MAX_EVIDENCE,
    REPEAT_EVIDENCE,
    SIGNALS,
    FailureKind,
    FailureSignal,
    failure_signal,
    fold,
)

NEG, HUMAN, REPEAT = FailureKind.NEGATIVE, FailureKind.HUMAN, FailureKind.REPEAT

GERMAN = [
    # the answer did not help
    ("Das hilft mir leider nicht weiter.", NEG),
    ("Hilft nicht.", NEG),
    ("Das hat leider nicht geholfen.", NEG),
    ("Ihre Antwort hat mir überhaupt nicht weitergeholfen!", NEG),
    ("Hat leider nicht funktioniert.", NEG),
    ("Das Zurücksetzen hat bei mir auch nicht geklappt.", NEG),
    ("Ich habe alles so gemacht wie beschrieben, aber es funktioniert trotzdem nicht.", NEG),
    ("Geht immer noch nicht!!", NEG),
    ("Klappt leider nicht.", NEG),
    ("Leider funktioniert es nicht, ich sehe weiterhin nur einen weißen Bildschirm.", NEG),
    ("Die Anleitung bringt nichts, die Schaltfläche gibt es bei mir gar nicht.", NEG),
    ("Ihre Antwort passt nicht zu meiner Frage.", NEG),
    ("Das war nicht meine Frage. Ich wollte wissen, wie ich kündige.", NEG),
    ("Meine Frage wurde leider nicht beantwortet.", NEG),
    ("Ich kann mich immer noch nicht einloggen.", NEG),
    ("Das Problem besteht weiterhin.", NEG),
    ("Nach wie vor kommt die gleiche Fehlermeldung.", NEG),
    ("Die App stürzt trotzdem ab, sobald ich das Training starte.", NEG),
    ("Das habe ich alles schon versucht.", NEG),
    ("Habe ich bereits mehrfach gemacht, ohne Erfolg.", NEG),
    ("Es hat sich leider nichts geändert.", NEG),
    ("Das hat nichts mit meinem Problem zu tun.", NEG),
    ("Sie haben mich falsch verstanden: es geht nicht um das Passwort, sondern um die E-Mail-Adresse.", NEG),
    ("Die Mail zum Zurücksetzen ist immer noch nicht angekommen.", NEG),
    ("Warum funktioniert das nicht?", NEG),
    ("Wenig hilfreich, ehrlich gesagt.", NEG),
    ("Das haette nicht geholfen", NEG),  # umlaut written as ae ("hätte")
    ("DAS HILFT MIR NICHT", NEG),
    # asks for a person
    ("Ich möchte bitte mit einem Mitarbeiter sprechen.", HUMAN),
    ("Kann ich mit einem echten Menschen reden?", HUMAN),
    ("Bitte rufen Sie mich an, Tel. 0171 2345678.", HUMAN),
    ("Ich bitte um Rückruf.", HUMAN),
    ("Ich will mit keinem Bot schreiben, sondern mit einem Menschen.", HUMAN),
    ("Kein Bot bitte.", HUMAN),
    ("Bitte leiten Sie mein Anliegen an einen Mitarbeiter weiter.", HUMAN),
    ("Kann sich bitte ein Techniker bei mir melden?", HUMAN),
    ("Sind Sie ein Bot?", HUMAN),
    ("Ich möchte keine automatischen Antworten mehr bekommen, sondern Hilfe.", HUMAN),
    ("Mitarbeiter bitte", HUMAN),
    ("Können wir das telefonisch klären?", HUMAN),
    ("Ich hätte gerne einen persönlichen Ansprechpartner.", HUMAN),
    ("Gibt es bei Ihnen keinen Menschen, der mir helfen kann?", HUMAN),
    ("Schon wieder eine automatische Antwort!", HUMAN),
    # no failure: thanks, settled, new questions, positive sentences with "nicht"
    ("Danke, hat geholfen!", None),
    ("Das hat geholfen.", None),
    ("Vielen Dank für die schnelle Antwort!", None),
    ("Super, jetzt funktioniert es wieder. Danke!", None),
    ("Ich weiß nicht, ob ich mich bedanken darf, aber es hat geholfen.", None),
    ("Ich weiß nicht ob es am Update lag, aber jetzt klappt es.", None),
    ("Ich hätte nicht gedacht, dass es so einfach ist. Danke!", None),
    ("Ohne Ihre Hilfe hätte ich das nicht gelöst, danke!", None),
    ("So schnell wurde mir noch nie geholfen!", None),
    ("Das hat nicht nur geholfen, es ging auch ganz schnell.", None),
    ("Der Fehler tritt nicht mehr auf, vielen Dank.", None),
    ("Danke im Voraus! Wie ändere ich meine Adresse?", None),
    ("Wie ändere ich meine Adresse?", None),
    ("Meine Rechnung ist falsch, können Sie das prüfen?", None),
    ("Wie kann ich einen neuen Mitarbeiter zu unserem Firmenkonto hinzufügen?", None),
    ("Wie kann ich meinen Mitarbeitern Zugriff geben?", None),
    ("Bitte rufen Sie mich nicht an, E-Mail reicht.", None),
    ("Ich bin kein Roboter, das Captcha erkennt mich aber nicht.", None),
    ("Ich möchte keinen Standardtarif, sondern Premium.", None),
    ("Ich habe die Zahlung bereits gemacht, wo ist meine Rechnung?", None),
    ("Mir geht es nicht gut, deshalb möchte ich mein Training pausieren.", None),
    ("Gibt es eine Person, die für den Datenschutz zuständig ist?", None),
    ("Perfekt, die App läuft wieder und stürzt nicht mehr ab.", None),
    ("Ich bin mir nicht sicher, ob das geholfen hat.", None),  # unsure is not a failure
    ("Die App funktioniert nicht.", None),  # a fault report: a repeat only if the classifier says so
]

ENGLISH = [
    # the answer did not help
    ("That didn't help.", NEG),
    ("Thanks, but that did not help at all.", NEG),
    ("This did not solve my problem.", NEG),
    ("Not helpful.", NEG),
    ("Your answer doesn't answer my question.", NEG),
    ("That wasn't my question.", NEG),
    ("I still can't log in.", NEG),
    ("Still not working.", NEG),
    ("It still doesn't work on my iPhone.", NEG),
    ("I followed the steps but it didn't work.", NEG),
    ("The problem persists.", NEG),
    ("Still the same error.", NEG),
    ("I'm still getting the same error message after resetting.", NEG),
    ("I already tried that.", NEG),
    ("I've already tried restarting the app twice.", NEG),
    ("Tried everything in the article, no luck.", NEG),
    ("Nothing changed, the payment page is blank.", NEG),
    ("Doesn't work.", NEG),
    ("The link doesn't work.", NEG),
    ("That has nothing to do with my question.", NEG),
    ("You misunderstood me, I asked about refunds.", NEG),
    ("Unfortunately this hasn't been resolved.", NEG),
    ("The app crashed again right after the update.", NEG),
    ("Useless.", NEG),
    ("Same issue as before.", NEG),
    ("Followed your instructions to the letter and I'm still locked out.", NEG),
    ("I'm afraid that didn't do the trick.", NEG),
    ("Your reply didnt help", NEG),  # no apostrophe
    ("That doesn’t help me.", NEG),  # typographic apostrophe
    # asks for a person
    ("Can I talk to a human please?", HUMAN),
    ("I want to speak to a real person.", HUMAN),
    ("I want to speak to an agent.", HUMAN),
    ("I want to speak to someone.", HUMAN),
    ("Let me talk to someone who can actually fix this.", HUMAN),
    ("Please escalate this.", HUMAN),
    ("Stop sending automatic replies!", HUMAN),
    ("Is this a bot?", HUMAN),
    ("Please call me back on 07700 900123.", HUMAN),
    ("Could someone from your team give me a call?", HUMAN),
    ("I need a human, not a bot.", HUMAN),
    ("Agent", HUMAN),
    ("Please transfer me to a supervisor.", HUMAN),
    ("Can somebody please look into this?", HUMAN),
    ("Is anyone there?", HUMAN),
    # no failure: thanks, settled, new questions, positive sentences with "not"
    ("Thanks, that worked!", None),
    ("Thank you so much, all sorted now.", None),
    ("Couldn't have fixed it without you, thanks.", None),
    ("Couldn't have been more helpful, cheers.", None),
    ("I'm not sure if I should say thanks, but it helped.", None),
    ("I don't need help anymore, it's fixed.", None),
    ("I don't get the error anymore.", None),
    ("Not only did it help, it was quick too!", None),
    ("Thanks in advance. How do I add a second vehicle to my permit?", None),
    ("How do I change my address?", None),
    ("My parking session did not end when I left, can you refund it?", None),
    ("I was not at work that day, so the fine is wrong.", None),
    ("Please don't call me, email is fine.", None),
    ("I'm not a robot, but the captcha keeps failing.", None),
    ("Can I pay by phone?", None),
    ("How do I transfer my permit to another person?", None),
    ("I already did the payment, where is the receipt?", None),
    ("Is this a computer problem or on your side?", None),
    ("It works now, no more errors. Thanks!", None),
    ("It didn't take long to fix, thanks.", None),
    ("My colleague talked to someone at your office yesterday.", None),
    ("The parking machine was not working so I used the app.", None),
    ("Please don't escalate, it's fine now.", None),
    ("Stop sending me marketing emails.", None),
]

MIXED_AND_EMPTY = [
    ("Danke, aber es geht immer noch nicht", NEG),
    ("Thanks, aber es funktioniert trotzdem nicht.", NEG),
    ("Danke! But it still crashes.", NEG),
    ("Hallo, I want to talk to a real person bitte.", HUMAN),
    ("Vielen Dank, but I have another question: how do I cancel?", None),
    ("", None),
    ("   \n\t  ", None),
    ("> Hat nicht geholfen", NEG),  # the caller strips quotes; whatever is left is read
]


def _cases(cases: list[tuple[str, FailureKind | None]]) -> list:
    return [pytest.param(body, kind, id=f"{kind or 'none'}:{body[:40]}") for body, kind in cases]


@pytest.mark.parametrize(("body", "kind"), _cases([*GERMAN, *ENGLISH, *MIXED_AND_EMPTY]))
def test_a_follow_up_is_read_as_its_failure_kind(body, kind):
    signal = failure_signal(body)
    assert (signal.kind if signal else None) == kind, signal


def test_there_are_enough_cases_of_each_language_and_kind():
    for cases in (GERMAN, ENGLISH):
        assert len(cases) >= 40
        assert {kind for _, kind in cases} == {NEG, HUMAN, None}


@pytest.mark.parametrize(("body", "kind"), _cases([c for c in [*GERMAN, *ENGLISH] if c[1]]))
def test_the_evidence_is_a_short_phrase_of_the_reply(body, kind):
    signal = failure_signal(body)
    assert signal is not None
    assert 0 < len(signal.evidence) <= MAX_EVIDENCE
    folded = " ".join(body.split()).lower()
    assert signal.evidence.lower() in folded


def test_the_evidence_is_cut_from_the_original_spelling():
    assert failure_signal("Das Problem ist leider nicht gelöst.") == FailureSignal(NEG, "nicht gelöst")
    assert failure_signal("Das\n  hilft   mir\tnicht") == FailureSignal(NEG, "hilft mir nicht")


# --- the same question again -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "kind"),
    _cases(
        [
            ("Wie setze ich mein Passwort zurück?", REPEAT),
            ("I can't log in to my account.", REPEAT),
            ("Danke im Voraus! Wie setze ich mein Passwort zurück?", REPEAT),
            ("Danke, hat geholfen!", None),
            ("Das hat geholfen.", None),
            ("Thanks, that worked.", None),
            ("Vielen Dank für die schnelle Antwort!", None),
            ("Danke, aber es geht immer noch nicht", NEG),
            ("Wie setze ich mein Passwort zurück? Ich möchte mit einem Mitarbeiter sprechen.", HUMAN),
            ("", None),
        ]
    ),
)
def test_the_same_article_again_is_a_repeat_unless_the_reply_thanks_or_says_more(body, kind):
    signal = failure_signal(body, same_article_again=True)
    assert (signal.kind if signal else None) == kind, signal


def test_a_repeat_carries_no_customer_text():
    assert failure_signal("Mein Passwort geht nicht", same_article_again=True) == FailureSignal(
        REPEAT, REPEAT_EVIDENCE
    )


def test_kinds_are_reported_negative_before_human_before_repeat():
    both = "Ich möchte einen Mitarbeiter sprechen, Ihre Antwort hilft mir nicht."
    assert failure_signal(both).kind is NEG
    assert failure_signal(both, same_article_again=True).kind is NEG
    assert failure_signal("Please call me back.", same_article_again=True).kind is HUMAN
    assert failure_signal("Still not working, I want to speak to a human.").kind is NEG


# --- the table and its bounds ----------------------------------------------------------------------


def test_every_row_of_the_table_is_proved_by_a_case():
    """No dead row: each row of the table matches at least one of the failure cases above."""
    failures = [fold(body)[0] for body, kind in [*GERMAN, *ENGLISH, *MIXED_AND_EMPTY] if kind]
    dead = [row.name for row in SIGNALS if not any(row.pattern.search(text) for text in failures)]
    assert dead == []


def test_folding_spells_out_umlauts_and_keeps_the_way_back():
    text, origin = fold("  Straße  HÄNGT\n’s")
    assert text == "strasse haengt 's"
    assert [origin[i] for i in (0, 4, 5, 9, 10)] == [2, 6, 6, 11, 11]  # ß and Ä became two letters


def test_a_huge_body_is_read_only_up_to_the_bound():
    filler = "Ich habe eine Frage zu meinem Vertrag und " * (1_000_000 // 42)
    assert len(filler) > 900_000
    assert failure_signal("Hilft nicht. " + filler) == FailureSignal(NEG, "Hilft nicht")
    assert failure_signal(filler[: MAX_CHARS - 20] + " hilft nicht") is not None
    assert failure_signal(filler + " hilft nicht. Ich möchte einen Mitarbeiter sprechen.") is None
    assert failure_signal("a" * 1_000_000 + " still not working") is None


def test_hostile_text_without_spaces_or_with_endless_words_returns():
    assert failure_signal("nicht " * 200_000) is None
    assert failure_signal("still " * 200_000 + "broken") is None
    assert failure_signal("x" * 1_000_000, same_article_again=True) == FailureSignal(REPEAT, REPEAT_EVIDENCE)
