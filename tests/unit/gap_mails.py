"""Planted unanswered mails for the knowledge-base gap tests: German, written for these tests.

Three topics the shipped knowledge base has no article for (vouchers, waiting lists, nutrition plans),
one near an existing article (invoices for a company: `invoice-receipt`), and six one-offs. Each topic
has eight paraphrases in different words, subjects and lengths; its keyword is the word a support lead
would name it by. One mail per line: subject | body (an empty subject is a mail without one).
"""

from __future__ import annotations

_GUTSCHEIN = """\
Gutschein einlösen | Ich habe zum Geburtstag einen Gutschein bekommen. Wo kann ich den in der App einlösen?
Code ungültig | Mein Gutschein wird beim Bezahlen als ungültig angezeigt, was mache ich falsch?
Geschenk | Kann man bei euch einen Gutschein verschenken? Meine Schwester möchte Aktivo Plus ausprobieren.
Gutschein | Wie lange ist ein Gutschein gültig? Ich habe noch einen vom letzten Jahr.
 | hab einen gutschein von meinem arbeitgeber aber in der app finde ich kein feld dafür
Zum Ausdrucken? | Gibt es den Gutschein auch zum Ausdrucken? Ich würde ihn gern zu Weihnachten verschenken.
Guthaben fehlt | Ich habe den Gutschein eingelöst, aber das Guthaben taucht nirgends auf.
Abo und Gutschein | Kann ich einen Gutschein mit meinem laufenden Abo verrechnen lassen?
"""

_WARTELISTE = """\
Yoga voll | Der Yogakurs am Dienstag ist voll. Kann ich mich auf die Warteliste setzen lassen?
Nachgerückt? | Wie erfahre ich, ob ich von der Warteliste nachgerückt bin?
Keine Nachricht | Ich stand auf der Warteliste für Spinning, aber keiner sagte mir, dass ein Platz frei war.
Warteliste geht nicht | Der Button für die Warteliste ist bei vollen Kursen ausgegraut.
Position | Wie viele Leute stehen vor mir auf der Warteliste?
Austragen | Kann ich mich von der Warteliste wieder austragen? Ich habe am Donnerstag doch keine Zeit.
 | Bekomme ich automatisch einen Platz wenn ich auf der Warteliste stehe oder muss ich das bestätigen??
Kurs ausgebucht | Der Pilates-Kurs am Samstag ist ausgebucht, gibt es eine Warteliste oder so etwas?
"""

_ERNAEHRUNGSPLAN = """\
Ernährung | Gibt es in der App auch einen Ernährungsplan passend zu meinem Training?
Ernährungsplan | Wo finde ich den Ernährungsplan, der in der Werbung gezeigt wurde?
Laktose | Kann ich den Ernährungsplan an meine Laktoseintoleranz anpassen?
Immer dieselben Rezepte | Mein Ernährungsplan zeigt seit Tagen dieselben Rezepte an.
Kosten | Ist der Ernährungsplan im Plus-Abo enthalten oder kostet der extra?
Vegetarisch? | Ich esse kein Fleisch. Bietet ihr auch einen vegetarischen Ernährungsplan an?
Kalorienziel | Wie stelle ich im Ernährungsplan mein tägliches Kalorienziel um? Es ist viel zu niedrig.
Einkaufsliste | Kann ich mir die Rezepte aus dem Ernährungsplan der Woche als Einkaufsliste exportieren?
"""

_RECHNUNG = """\
Firmenadresse | Ich brauche die Rechnung fürs Abo mit der Adresse meiner Firma, sonst zahlt mein Chef nicht.
Umsatzsteuer | Kann auf der Rechnung die Umsatzsteuer separat ausgewiesen werden?
Rechnung auf Firma | Bitte stellen Sie meine Rechnung auf meinen Arbeitgeber aus, nicht auf mich privat.
Steuernummer fehlt | In meiner Rechnung fehlt die Steuernummer, die brauche ich für die Buchhaltung.
Rechnungsadresse | Wie kann ich die Adresse auf meiner Rechnung nachträglich ändern? Ich bin umgezogen.
 | brauche eine korrigierte rechnung mit meiner neuen anschrift für die steuererklärung
Firmenrechnung | Mein Chef zahlt das Abo, geht eine Rechnung auf die Firma?
Unvollständig | Die Rechnung muss Namen und Firma enthalten, sonst nimmt die Buchhaltung sie nicht an.
"""

_ONE_OFFS = """\
Kooperation | Ich habe 20k Follower auf Instagram und würde gern mit Aktivo zusammenarbeiten.
Lob | Die neue Statistik-Ansicht gefällt mir richtig gut, weiter so!
Dunkelmodus | Wird es bald einen Dark Mode geben? Abends blendet die Anzeige sehr.
Garmin | Meine Garmin-Uhr überträgt die Schritte nicht mehr an Aktivo.
Parken | Gibt es am Studio in der Innenstadt Parkplätze für Mitglieder?
Preis gestiegen | Warum ist der Preis für Plus gestiegen? Ich habe keine Info bekommen.
"""


def _mails(block: str) -> list[tuple[str, str]]:
    return [
        (subject.strip(), body.strip())
        for subject, body in (line.split(" | ", 1) for line in block.splitlines())
    ]


PLANTED: dict[str, list[tuple[str, str]]] = {
    "gutschein": _mails(_GUTSCHEIN),
    "warteliste": _mails(_WARTELISTE),
    "ernährungsplan": _mails(_ERNAEHRUNGSPLAN),
    "rechnung": _mails(_RECHNUNG),
}
NEAR_ARTICLE = "invoice-receipt"  # the article the "rechnung" topic is near
ONE_OFFS = _mails(_ONE_OFFS)
