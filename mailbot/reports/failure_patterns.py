"""The failure-signal table of mailbot.reports.failure: named rows of patterns on folded follow-up text,
NEGATIVE rows before HUMAN rows, read top to bottom (the first match wins). Its own module so that the
phrases can be read and extended in one place; the detector and its folding live in failure.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class FailureKind(StrEnum):
    NEGATIVE = "negative"  # the answer did not help: "hilft nicht", "still not working"
    HUMAN = "human"  # asks for a person: "ich möchte einen Mitarbeiter sprechen", "real person"
    REPEAT = "repeat"  # the same question again (decided by the caller's classifier)


@dataclass(frozen=True)
class SignalRow:
    name: str
    kind: FailureKind
    pattern: re.Pattern[str]


# --- building blocks (on folded text: lower case, umlauts spelt out, single spaces) ---------------------

# words that open another clause or say "I am not sure": a negation before them is not about what follows
_CLAUSE = (
    r"ob|dass|weil|wenn|falls|sondern|und|oder|denn|ohne|sicher|weiss|wusste|glaube|dachte|gedacht|"
    r"denke|besser|schneller|einfacher|if|whether|because|and|or|unless|without|sure|know|knew|think|"
    r"thought|expect|expected|believe|more|better|faster|only|just|need|needed|until|long|take|took|"
    r"realise|realize"
)
_CLAUSE_OR_BUT = _CLAUSE + r"|aber|doch|jedoch|but|however|though"


def _gap(words: int, breakers: str = _CLAUSE_OR_BUT) -> str:
    """Up to `words` words, each with its space; never a breaker, never across punctuation."""
    return rf"(?:(?!(?:{breakers})\b)[\w'-]+ ){{0,{words}}}"


_NT = r"(?:do|does|did|is|are|was|were|has|have|had|ca|wo|must|need)n'?t"  # don't, can't, wont, didnt
_EN_NOT = rf"(?:{_NT}|(?:do|does|did|is|are|was|were|has|have|had|will|can) not|cannot|not(?! only\b))"
# "couldn't have done it without you" praises: would/could/should + not only without "have"
_EN_NEG = rf"(?:{_EN_NOT}|(?:would|could|should)(?:n'?t| not)(?! have\b))"
_DE_NEG = r"(?:nicht(?! nur\b| bloss\b)|nichts|kaum|keineswegs)"
_DE_STILL = r"(?:immer noch|noch immer|weiterhin|nach wie vor|trotzdem|dennoch)"
_DE_FAULT = (
    r"(?:nicht|nichts|kein\w*|fehler\w*|problem\w*|gleiche\w*|selbe\w*|dasselbe|falsch\w*|kaputt|"
    r"abstuerz\w*|absturz|stuerzt|haengt|friert|eingefroren|gesperrt)"
)
_EN_FAULT = (
    rf"(?:not|no|{_NT}|cannot|unable|broken|fail\w*|crash\w*|error\w*|problem\w*|issue\w*|wrong|"
    r"freez\w*|froze|hang\w*|stuck|same|nothing|nope|locked|blocked)"
)
_NOT_A_JOB = "".join(f"(?<!{w} )" for w in ("at", "from", "for", "of", "my", "our", "the"))  # "at work"
_EN_IT = r"(?:it|this|that|these|those|they|which)"
_EN_ADVICE = (
    r"(?:steps|instructions|solution|link|fix|suggestion|workaround|method|guide|advice|answer|article|"
    r"tip|tips|reset|procedure|code)"
)
_DE_IT = r"(?:es|das|dies|das alles|alles)"
_DE_WORKS = r"(?:funktioniert|klappt|geht|laeuft)"
_NOT_WELL = r"(?! gut\b| so gut\b| schlecht\b|(?: mehr)? um\b)"  # "mir geht es nicht gut", "es geht nicht um"
_SENTENCE_START = r"(?:^|(?<=[.!?;:,] ))"
_NOT_ASKED = "".join(f"(?<!{w} )" for w in ("n't", "nt", "not", "never", "no need to"))  # "don't call me"
_DE_PERSON = (
    r"(?:mensch\w*|mitarbeiter\w*|person|persoenlich\w*|ansprechpartner\w*|ansprechperson|"
    r"sachbearbeiter\w*|berater\w*|kundenberater\w*|kundendienst\w*|kundenservice|techniker\w*|"
    r"supportmitarbeiter\w*|support-mitarbeiter\w*|jemand\w*|verantwortlich\w*|vorgesetzt\w*|agent(?:en|in)?)"
)
_DE_TALK = (
    r"(?:sprechen|reden|telefonieren|verbinden|verbunden|weiterleiten|weitergeleitet|weitergeben|"
    r"kontaktieren|zurueckrufen|anrufen|kuemmern|ansehen|anschauen|draufschauen|leiten)"
)
# "meinen Mitarbeitern", "anderen Menschen": the customer's own people are not the person asked for
_NOT_THEIRS = "".join(
    f"(?<!{w} )" for w in ("mein", "meine", "meinen", "meinem", "meiner", "unsere", "unseren", "unserem")
) + "".join(f"(?<!{w} )" for w in ("unserer", "andere", "anderen", "anderem", "anderer", "fremde", "fremden"))
_EN_PERSON = (
    r"(?:human(?! error)|humans|person|agent|representative|rep|operator|someone|somebody|anyone|"
    r"anybody|staff|team member|supervisor|manager|engineer|technician|specialist)"
)
_EN_ARTICLE = r"(?:(?:a|an|the|your|some|one of your|real|actual|live|human|proper|support|service) ){0,4}"
_BOT = r"(?:bot|chatbot|roboter|robot|automat|automaten|ki|ai)"
_CANNED = (  # a canned answer or a bot; not "Standardtarif" or "auto-renewal"
    r"(?:(?:automat\w*|auto|canned|generic|template\w*|bot|robot\w*|scripted|standard|pre-?written|"
    r"copy-paste\w*|vorgefertigt\w*|generiert\w*|computer\w*)[ -]?(?:repl\w*|respon\w*|answer\w*|"
    r"messages?|e-?mails?|mails?|antwort\w*|nachricht\w*|texte?n?)|textbaustein\w*|standardantwort\w*|"
    r"standardmail\w*|bots?|chatbots?|robots?|roboter\w*)"
)


def _rx(*alternatives: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{a})" for a in alternatives))


def _row(name: str, kind: FailureKind, *alternatives: str) -> SignalRow:
    return SignalRow(name, kind, _rx(*alternatives))


NEGATIVE, HUMAN = FailureKind.NEGATIVE, FailureKind.HUMAN

SIGNALS: tuple[SignalRow, ...] = (
    # --- NEGATIVE: the answer did not help -----------------------------------------------------------
    _row(
        "de_not_helped",  # "hat (mir leider) nicht geholfen", "hilft nicht weiter", "bringt nichts"
        NEGATIVE,
        rf"\b{_DE_NEG} {_gap(3)}(?:weiter)?(?:geholfen|hilft|hilfreich|geloest|behoben|beantwortet|"
        r"genuetzt)\b",
        rf"\b(?:hilft|hilfts|nuetzt|bringt|brachte|half) {_gap(3, _CLAUSE)}{_DE_NEG}\b",
        rf"\bnichts {_gap(2)}(?:gebracht|bewirkt|genuetzt)\b",
        r"\b(?:hat|hatte) sich (?:leider |aber |auch |dadurch |damit |bei mir )*nichts (?:\w+ )?geaendert\b",
        r"\bkeine (?:besserung|verbesserung|wirkung)\b",
        r"\bdanke fuer nichts\b",
    ),
    _row(
        "de_did_not_work",  # "hat nicht funktioniert", "es klappt leider nicht", "Geht nicht."
        NEGATIVE,
        rf"\b(?:hat|haben|hatte|hatten|hats|hat's) {_gap(4, _CLAUSE)}{_DE_NEG} {_gap(2)}(?:funktioniert|"
        r"geklappt)\b",
        rf"\b{_DE_NEG} {_gap(2)}(?:funktioniert|geklappt) (?:hat|haben|hatte|hatten)\b",
        rf"\b(?:funktionierte|klappte|ging) {_gap(3, _CLAUSE)}{_DE_NEG}\b{_NOT_WELL}",
        rf"\b{_DE_IT} {_DE_WORKS} {_gap(3, _CLAUSE)}{_DE_NEG}\b{_NOT_WELL}",
        rf"\b{_DE_WORKS} (?:es|das|dies) {_gap(3, _CLAUSE)}{_DE_NEG}\b{_NOT_WELL}",
        rf"{_SENTENCE_START}(?:leider |aber |doch |trotzdem |auch )?{_DE_WORKS} {_gap(3, _CLAUSE)}{_DE_NEG}\b"
        rf"{_NOT_WELL}",
    ),
    _row(
        "de_still_broken",  # "geht immer noch nicht", "Problem besteht weiterhin", "derselbe Fehler"
        NEGATIVE,
        rf"\b{_DE_STILL} {_gap(3, _CLAUSE)}{_DE_FAULT}\b",
        rf"\b(?:fehler\w*|problem\w*|absturz) {_gap(3)}(?:immer noch|noch immer|weiterhin|nach wie vor)\b",
        r"\b(?:besteht|bestehen|tritt|treten|passiert|erscheint|erscheinen|kommt|kommen) "
        rf"{_gap(2)}(?:{_DE_STILL}|fort)\b",
        r"\b(?:tritt|treten|passiert|erscheint|erscheinen|stuerzt|haengt) (?:\w+ )?(?:wieder|erneut)\b",
        rf"\b(?:stuerzt|stuerzen|haengt|haengen|friert|frieren|bricht|brechen) {_gap(2)}{_DE_STILL}\b",
        r"\bwieder (?:nicht|nichts|kein\w*|(?:der |die |das |den |dem )?(?:gleiche|selbe)\w*|"
        r"(?:ein |eine |der |die |den )?(?:fehler\w*|absturz|abgestuerzt))\b",
        r"\b(?:gleiche|selbe|dieselbe|derselbe|dasselbe|denselben|demselben)\w* "
        r"(?:fehler\w*|problem\w*|meldung|ergebnis|bild)\b",
        r"\b(?:das|genau das) (?:gleiche|selbe) (?:passiert|wie vorher|wie vorhin|wie zuvor)\b",
    ),
    _row(
        "de_already_tried",  # "das habe ich schon alles versucht"
        NEGATIVE,
        r"\b(?:schon|bereits) (?:(?:alles|das|dies|es|so|genau|genauso|mehrfach|mehrmals|oefter|oft|"
        r"zweimal|dreimal|x-mal|alle|die|diese|ihre|schritte|tipps|vorschlaege|anleitung|mal) ){0,3}"
        r"(?:versucht|probiert|ausprobiert|befolgt|durchgefuehrt)\b",
        # "gemacht" only with what was done: "Ich habe die Zahlung bereits gemacht" is no complaint
        r"\b(?:das|dies|es|alles|so|habe ich|hab ich|haben wir) (?:\w+ )?(?:schon|bereits) (?:\w+ )?"
        r"(?:gemacht|getan)\b",
        r"\b(?:schon|bereits) (?:alles|das|so|genau so|genauso) (?:\w+ )?(?:gemacht|getan)\b",
        r"\balles (?:\w+ )?(?:versucht|probiert|ausprobiert)\b",
    ),
    _row(
        "de_not_my_question",  # "Ihre Antwort passt nicht zu meiner Frage", "das war nicht meine Frage"
        NEGATIVE,
        rf"\b(?:ihre|die|diese|eure|deine|ihrer|der) antwort(?:en)? {_gap(4, _CLAUSE)}(?:{_DE_NEG}|kein\w*|"
        r"falsch|unpassend|daneben|vorbei)\b",
        r"\b(?:war|ist|lautete) (?:aber |doch |leider |gar |ueberhaupt )*nicht (?:meine|die|unsere) frage\b",
        r"\bnicht (?:das|was) (?:ich|wir) (?:\w+ )?(?:gefragt|wissen wollte|gemeint|meinte|gesucht|"
        r"wollte)\w*",
        rf"\bfrage {_gap(3)}(?:nicht|nie|kaum) {_gap(2)}beantwortet\b",
        r"\b(?:passt|gehoert) (?:leider |aber |gar |ueberhaupt )*nicht zu (?:meiner|meinem|der|dem|unserer|"
        r"unserem)\b",
        r"\bnichts (?:mit|zu) (?:meiner|meinem|unserer|unserem|der|dem) (?:frage|problem|anliegen|anfrage|"
        r"thema)\b",
        r"\b(?:an|am) (?:meiner|meinem|der|dem) (?:frage|problem|anliegen|thema) vorbei\b",
        r"\b(?:mich|uns|meine frage|mein problem|mein anliegen|das) (?:leider |wohl |offenbar |nicht )?"
        r"(?:falsch |miss)verstanden\b",
        r"\b(?:haben|hat) (?:mich|uns|meine frage|mein anliegen) (?:leider |wohl |"
        r"offenbar )?nicht verstanden\b",
        r"\b(?:darum|um das) (?:ging|geht) es (?:mir |uns )?(?:aber |doch |leider )*nicht\b",
        r"\bes (?:geht|ging) (?:mir |uns )?(?:aber |doch |eigentlich |hier )*nicht um\b",
        r"\bfalsche[nr]? (?:antwort|artikel|thema|anleitung)\b",
    ),
    _row(
        "de_useless",
        NEGATIVE,
        r"\b(?:nutzlos|unbrauchbar|sinnlos|wenig hilfreich)\b",
        r"\b(?:war|ist) (?:leider |auch |gar |ueberhaupt |keine )*keine (?:grosse |echte )?hilfe\b",
    ),
    _row(
        "en_not_helped",  # "didn't help", "not helpful", "this did not solve", "doesn't answer my question"
        NEGATIVE,
        rf"\b{_EN_NEG} {_gap(3)}(?:help(?:ed|s|ful)?|solve[ds]?|fix(?:ed|es)?|resolve[ds]?|useful|"
        r"change (?:anything|a thing)|do (?:anything|a thing|the trick)|make (?:any|a|much) difference)\b",
        rf"\b{_EN_NEG} {_gap(2)}answer(?:ed|s)? {_gap(1)}(?:my|the|our) (?:question|query|problem|issue|"
        r"request)",
        rf"\bquestion {_gap(3)}(?:not|{_NT}|never) (?:been |really |actually )?answered\b",
        r"\b(?:unhelpful|useless|(?:was|is|been|of) (?:no|little) (?:help|use))\b",
        r"\b(?:made|makes|make) no difference\b|\bno (?:luck|joy|success|effect|difference)\b",
        r"\bnothing (?:has |have )?(?:changed|happened|helped|worked)\b|\bdid nothing\b|"
        r"\bthanks for nothing\b",
    ),
    _row(
        "en_did_not_work",  # "didn't work", "it still doesn't work", "Not working."
        NEGATIVE,
        rf"\b(?:did|has|have|had)(?:n'?t| not) {_gap(2, _CLAUSE)}{_NOT_A_JOB}work(?:ed|ing|s)?\b",
        rf"\b(?:{_EN_IT}|{_EN_ADVICE}) {_gap(2, _CLAUSE)}{_EN_NOT} {_gap(2, _CLAUSE)}{_NOT_A_JOB}work(?:ed|"
        r"ing|s)?\b",
        rf"{_SENTENCE_START}(?:but |unfortunately |sadly |still )?(?:{_NT}|not|still not) {_gap(1)}"
        r"work(?:ing|ed|s)?\b",
    ),
    _row(
        "en_still_broken",  # "still can't log in", "the problem persists", "still the same error"
        NEGATIVE,
        rf"\bstill {_gap(3, _CLAUSE)}{_EN_FAULT}\b",
        r"\b(?:error|problem|issue|bug|crash|fault|message|warning)s? "
        r"(?:is |are |was )?still (?:there|here|happening|present|occurring|showing|appearing|exists?|"
        r"the same)\b",
        r"\b(?:error|problem|issue|bug|crash|fault)s? (?:still )?(?:persists?|remains?|continues?|"
        r"recurs?|reoccurs?|keeps (?:happening|coming back|showing up|appearing))\b",
        r"\b(?:error|problem|issue|question|matter)s? (?:is |are |remains? |still )*un(?:solved|resolved|"
        r"answered)\b",
        r"\bsame (?:error|problem|issue|message|fault|bug|thing|result)s? (?:as (?:before|last time|"
        r"yesterday|"
        r"earlier)|again)\b",
        r"\b(?:the|that|this|exact) same (?:error|problem|issue|message|fault|bug|result|screen|"
        r"thing happens)\b",
        r"\b(?:crash\w*|fail\w*|froze|freez\w*|happen\w*) again\b",
    ),
    _row(
        "en_already_tried",  # "I already tried that", "I did that, but ..."
        NEGATIVE,
        r"\balready (?:tried|did|done|followed|gone through|went through) (?:that|this|it|those|these|them|"
        r"all|"
        r"everything|(?:the|your|all the|all your) (?:steps|instructions|suggestions?|advice|solution|tips?|"
        r"guide|article)|\w+ing)\b",
        r"\btried (?:everything|all (?:of )?(?:that|those|these|them|the steps|your))\b",
        r"\b(?:tried|did|followed|done) (?:that|this|it|those|these|them|all|everything|(?:the|"
        r"your) (?:steps|"
        r"instructions|suggestions?|advice|solution|tips?))(?: already| before| again| twice| several times)?"
        r",? (?:but|still|however|yet|without|no luck)\b",
    ),
    _row(
        "en_not_my_question",  # "that doesn't answer my question", "that was not my question"
        NEGATIVE,
        rf"\b(?:{_NT}|is not|was not|not) (?:really |even |actually )?(?:my|the|our) question\b",
        rf"\b(?:not|{_NT}) (?:what|the question) (?:i|we) (?:\w+ )?(?:asked|meant|asking|wanted|"
        r"looking for|need)",
        r"\byou (?:have |must have |may have |'ve |seem to have |obviously |clearly )*misunderst\w*\b",
        rf"\byou (?:{_NT}|did not|do not) (?:really |even )?(?:understand|read)\b",
        r"\b(?:has|have|had) nothing to do with (?:my|the|our|what)\b",
        r"\b(?:unrelated|irrelevant|not relevant) to (?:my|the|our|what)\b|\bwrong (?:answer|article|"
        r"topic)\b",
    ),
    # --- HUMAN: asks for a person ----------------------------------------------------------------------
    _row(
        "de_person",  # "ich möchte mit einem Mitarbeiter sprechen", "echter Mensch"
        HUMAN,
        rf"{_NOT_THEIRS}\b{_DE_PERSON} {_gap(4)}{_DE_TALK}\b",
        rf"\b(?:verbinden|leiten|geben) (?:sie |ihr )?{_gap(4)}(?:an|mit|zu) {_gap(3)}{_DE_PERSON}\b",
        rf"\b{_DE_PERSON} {_gap(3)}(?:bei mir|bei uns) {_gap(2)}melden\b",
        r"\b(?:echt|real|lebend|menschlich)\w* (?:mensch\w*|person|mitarbeiter\w*|ansprechpartner\w*)\b",
        r"\bmenschlich\w* (?:hilfe|antwort|kontakt)\b|\brichtige[nr]? mensch\w*\b",
        r"\b(?:gibt es|ist da|haben sie) (?:denn |hier |bei ihnen |auch |ueberhaupt )*(?:keine\w* |"
        r"niemand\w* |"
        r"(?:\w+ )?(?:echte|richtige)\w* )(?:menschen|mitarbeiter\w*|person|ansprechpartner\w*)\b",
        r"\bist (?:da|hier|dort) (?:ueberhaupt |denn |auch )*(?:jemand|wer|ein mensch)\b",
        r"\bpersoenlich\w* (?:sprechen|beraten|ansprechpartner\w*|kontakt|antwort|gespraech|betreuung)\b",
        r"\b(?:antwort|rueckmeldung|reaktion) (?:von|vom) (?:einem |einer |einen )?(?:echten |richtigen )?"
        r"(?:menschen|mitarbeiter\w*|person|techniker\w*)\b",
    ),
    _row(
        "de_call_me",  # "bitte rufen Sie mich an", "Rückruf"
        HUMAN,
        r"(?<!kein )(?<!keinen )\brueckruf(?! ist nicht| nicht| unnoetig)\w*",
        rf"\bruf\w* (?:sie )?(?:mich|uns) {_gap(3, _CLAUSE + '|nicht|nie')}(?:an|zurueck)\b",
        r"\b(?:mich|uns) (?:bitte |doch |kurz |mal |gerne |gern |telefonisch )*(?:anrufen|zurueckrufen)\b",
        rf"\btelefonisch\w* {_gap(3)}(?:sprechen|erreichen|kontaktieren|klaeren|besprechen|beraten|melden)\b",
        r"\bbitte um (?:einen |ein )?(?:anruf|telefonat|gespraech)\b",
    ),
    _row(
        "de_no_bot",  # "kein Bot", "keine automatischen Antworten mehr"
        HUMAN,
        rf"(?<!bin )\bkein(?:e|en|em|er)? {_BOT}\b|\bnicht mit (?:einem|einer|dem|der) {_BOT}\b",
        rf"\b(?:statt|anstatt|anstelle) (?:eines |einer |einem |einem |dem |der )?{_BOT}\b",
        rf"\b(?:bin ich|sind sie|ist das|bist du|schreibe ich|spreche ich|rede ich) (?:hier )?(?:nur )?"
        rf"(?:mit )?(?:ein |einem |eine |einer |der |dem )?{_BOT}\b",
        rf"\b(?:will|moechte|wollte|brauche|wuensche|bitte) {_gap(2)}kein\w* {_CANNED}",
        rf"\bkein\w* {_CANNED} (?:antwort\w*|mail\w*|nachricht\w*|e-mails?) mehr\b",
        rf"\b(?:statt|anstatt|anstelle) (?:einer |eines |der )?{_CANNED} (?:antwort|mail|nachricht|e-mail)",
        r"\b(?:hoer\w* (?:sie |ihr )?(?:bitte )?auf|aufhoeren)\b.{0,40}?\b(?:automatisch|standard|"
        r"vorgefertigt)\w*",
        r"\beskalier\w*|\beskalation\b",
        rf"\b(?:schon wieder|wieder nur|nur|erneut|noch eine|noch so eine) (?:eine |so eine |ein )?{_CANNED}",
    ),
    _row(
        "en_person",  # "can I talk to a human", "I want to speak to a real person", "escalate this"
        HUMAN,
        rf"\b(?:speak|talk|chat|get through)(?:ing)? {_gap(2)}(?:to|with) {_EN_ARTICLE}{_EN_PERSON}\b",
        rf"\b(?:connect|transfer|put|pass|hand|forward)\w* me {_gap(1)}(?:to|with|through to|over to|on to) "
        rf"{_EN_ARTICLE}{_EN_PERSON}\b",
        r"\b(?:want|need|would like|'d like|prefer|request|ask for|get me|give me|can i get|can i have|"
        r"may i have) (?:a |an |some )?(?:real |actual |live |human |proper )?(?:human(?! error)|person|"
        r"agent|"
        r"representative|operator|human being|staff member|team member|supervisor)\b",
        r"\b(?:real|actual|live|living|proper) (?:human|person|people|agent|representative|operator|support|"
        r"someone|somebody)\b|\bhuman (?:being|reply|response|answer|support|agent|contact)\b",
        r"\b(?:can|could|would|will|please|have|get|need|want|like) (?:someone|somebody|a person|an agent|"
        rf"a human|one of your \w+) {_gap(3)}(?:call|contact|phone|ring|reach|email|look|check|review|"
        r"get back|"
        r"reply|respond|help|investigate)\b",
        rf"{_NOT_ASKED}\bescalat\w*",
        r"\bis there (?:a |an |any )?(?:real |actual |live )?(?:human|person|agent|someone|somebody|anyone|"
        r"anybody)"
        r" (?:i can|to|who|that|at all|there|reading|out there)\b",
        r"\b(?:is|are) (?:anyone|anybody|someone|somebody) (?:there|reading|out there|even reading)\b",
        rf"\b(?:another|yet another|again an?|just an?|only an?) {_CANNED}",
    ),
    _row(
        "en_call_me",  # "call me back", "give me a call"
        HUMAN,
        rf"{_NOT_ASKED}\b(?:call|phone|ring) me\b",
        rf"{_NOT_ASKED}\b(?:call ?back|give me a (?:call|ring))\b",
    ),
    _row(
        "en_no_bot",  # "stop sending automatic replies", "not a bot"
        HUMAN,
        r"\b(?:stop|quit|cease) (?:sending |with )?(?:me )?(?:these |the |your |those |this |"
        rf"all )?{_CANNED}",
        rf"\bno more {_CANNED}",
        rf"\b(?:{_NT}|do not|did not) want (?:to (?:talk|speak|chat) (?:to|with) )?(?:a |an |another |more |"
        rf"any more |these |your )?{_CANNED}",
        rf"(?<!i'm )(?<!im )(?<!i am )\b(?:instead of|rather than|not) (?:a |an |another |some )?{_BOT}\b"
        r"(?! problem| issue| error| game)",
        r"\b(?:are you|is this|am i (?:talking|speaking|chatting|writing) (?:to|with)) (?:just |only |"
        r"still )?"
        rf"(?:a |an )?(?:{_BOT}|automated)\b(?! problem| issue| error)",
    ),
    _row(
        "only_asks_for_a_person",  # the whole reply is "Agent" or "Mitarbeiter bitte"
        HUMAN,
        r"^(?:(?:please|bitte) )?(?:agent|human|representative|operator|real person|person|mensch|"
        r"mitarbeiter|"
        r"mitarbeiterin|support)(?: please| bitte)?[.! ]*$",
    ),
)

# "ohne Sie hätte ich das nicht gelöst", "couldn't have fixed it without you": praise, not a failure
