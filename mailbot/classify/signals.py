"""Explicit severity signals: German and English phrases that say how bad a fault is.

The severity model learns from a few hundred examples only; these hand-written patterns carry what
such a small set cannot teach reliably (who is affected, whether a workaround exists, whether it is
only the display). Each signal adds fixed amounts to class scores, so its effect is visible and
testable on its own, and its name and the matched words become a reason for the 2nd-level agent.

Patterns run on `normalise`d text: case-folded (so "ß" arrives as "ss"), digits as "0". Given a
`MappedText`, a reason quotes the customer's words as written ("None of our 40 drivers"), not the
normalised ones ("none of our 0 drivers").
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mailbot.classify.normalise import MappedText

NONE = "none"  # the label of mails that report no fault (questions, wishes, thanks)
# tie-break order: without evidence the guess is "no fault", then the mildest class
LABELS = (NONE, "cosmetic", "minor", "major", "critical")
SHOWN_MATCH = 60  # characters of a matched phrase quoted in a reason


@dataclass(frozen=True)
class Signal:
    name: str  # stable, stored and shown: 'signal: "stürzt ab" (crash)'; incident grouping compares it
    german: str  # the name in German team mails
    pattern: re.Pattern[str]
    weights: Mapping[str, float]  # label -> added score


@dataclass(frozen=True)
class Hit:
    signal: Signal
    matched: str  # the customer's words as written (normalised when only normalised text was given)

    @property
    def reason(self) -> str:
        return f'signal: "{shorten(self.matched, SHOWN_MATCH)}" ({self.signal.name})'


def shorten(text: str, limit: int) -> str:
    """`text` on one line, at most `limit` characters, cut at a word where one is near."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit * 2 // 3 else cut).rstrip(" ,;:.-") + "…"


def _signal(name: str, german: str, weights: Mapping[str, float], *patterns: str) -> Signal:
    return Signal(name, german, re.compile("|".join(f"(?:{p})" for p in patterns)), weights)


# a core function fails for the writer: the default reading is "major" (no workaround mentioned)
_CORE = {"major": 0.8, "critical": 0.3, "minor": 0.1, NONE: -0.8, "cosmetic": -0.6}
_W = r"(?:[\w'-]+\s+)"  # one word and the space after it, for "stürzt bei mir jedes mal ab"
# Word endings after a stem are bounded (`\w{0,40}`, not `\w*`) wherever more must follow: every "zahlung"
# inside one long word was scanned to the word's end again (quadratic), and "stornier\w*)\w* " twice
# over (a 20,000-letter word held the worker for minutes).

CRASH = _signal(
    "crash",
    "Absturz",
    _CORE,
    rf"\bst(?:ü|ue|u)r?t?zt\s+{_W}{{0,5}}ab\b",
    r"abgest(?:ü|ue)rzt|abst(?:ü|ue)rz\w*",
    r"\bcrash\w*",
    r"schlie(?:ss|ß)t sich (?:\w+ ){0,3}(?:sofort|direkt|einfach|wieder|von selbst|immer)",
    r"h(?:ä|ae)ngt sich (?:\w+ )?auf|friert (?:\w+ ){0,2}ein|eingefroren",
    r"\bfreez\w*|\bfrozen\b|force[- ]clos\w*|keeps closing|closes (?:itself|immediately|right away|again)",
    r"quits unexpectedly|wurde beendet",
)
WONT_START = _signal(
    "app does not start",
    "App startet nicht",
    _CORE,
    r"startet (?:\w+ )?nicht|l(?:ä|ae)sst sich (?:\w+ )?nicht (?:mehr )?(?:öffnen|starten)",
    r"geht (?:gar |einfach )?nicht (?:mehr )?auf|(?:ö|oe)ffnet (?:sich )?(?:\w+ )?nicht",
    r"(?:wei(?:ss|ß)|schwarz)e[rn]? bildschirm|(?:h(?:ä|ae)ngt|fest) (?:\w+ ){0,2}(?:im|beim) lade",
    r"won'?t (?:open|start|launch|load)",
    r"(?:doesn'?t|does not|will not|can'?t|cannot) (?:open|start|launch|load)\b",
    r"(?:white|black|blank) screen|stuck (?:on|at) (?:the )?(?:loading|splash)",
)
LOGIN = _signal(
    "login impossible",
    "Anmeldung nicht möglich",
    _CORE,
    r"nicht (?:mehr )?(?:ein|an)(?:loggen|logen|melden)\b",
    r"(?:login|log-in|anmeldung|einloggen) (?:\w+ ){0,2}(?:geht|klappt|funktioniert|schl(?:ä|ae)gt)"
    r" (?:\w+ ){0,3}(?:nicht|fehl)",
    r"(?:geht|klappt|funktioniert) (?:\w+ ){0,2}(?:login|log-in|anmeldung|einloggen|anmelden)"
    r" (?:\w+ ){0,2}nicht",
    r"(?:can'?t|cannot|unable to|couldn'?t|can not) (?:log|sign) ?(?:in|on)\b",
    r"\b(?:nobody|no one|niemand|keine[rn]?) (?:\w+ ){0,4}(?:can|could|is able to|kann|konnte|k(?:ö|oe)nnen)"
    r" (?:\w+ ){0,2}(?:log ?in|sign ?in|(?:ein|an)(?:loggen|melden))\b",
    r"(?:log ?in|sign ?in|login) (?:\w+ )?(?:fails|failed|is broken|doesn'?t work|not working|error)",
    r"(?:ständig|staendig|immer wieder) (?:\w+ )?ausgeloggt|keep (?:getting )?logged out",
    r"komme? (?:\w+ ){0,2}nicht (?:mehr )?in (?:mein|das|die|unser)\w* (?:konto|account|app|profil)",
    r"(?:can'?t|cannot|unable to|couldn'?t) (?:get into|access) (?:my|our|the) (?:account|app|profile)",
    r"locked out|(?:konto|account)\w{0,40} (?:\w+ )?(?:gesperrt|locked|blocked)",
)
PAYMENT = _signal(
    "payment failing",
    "Zahlung schlägt fehl",
    _CORE,
    r"(?:zahlung|bezahlung|abbuchung|kauf)\w{0,40} (?:\w+ ){0,3}(?:fehl|abgelehnt|nicht m(?:ö|oe)glich)",
    r"(?:zahlung|bezahl)\w{0,40} (?:\w+ ){0,3}(?:geht|klappt|funktioniert) (?:\w+ )?nicht",
    r"(?:kann|k(?:ö|oe)nnen|konnte) (?:\w+ ){0,4}nicht (?:mehr )?(?:be)?zahlen",
    r"(?:doppelt|zweimal|mehrfach) (?:\w+ )?(?:abgebucht|belastet|bezahlt)",
    r"payment\w{0,40} (?:\w+ ){0,3}(?:fail|declin|not go|error|doesn|won|reject)",
    r"(?:can'?t|cannot|unable to|couldn'?t) (?:pay|check ?out|complete (?:the |my )?(?:purchase|payment))",
    r"checkout (?:\w+ )?(?:fails|failed|error|broken|not working)",
    r"(?:charged|billed) (?:me )?(?:twice|double)",
    r"double[- ]charged",
)
BOOKING = _signal(
    "booking or check-in failing",
    "Buchung oder Check-in schlägt fehl",
    _CORE,
    r"(?:buchung|buchen|stornier|check-?in|einchecken|warteliste)\w{0,40} "
    r"(?:\w+ ){0,4}(?:geht|klappt|funktioniert) (?:\w+ )?nicht",
    r"(?:kann|k(?:ö|oe)nnen|konnte) (?:\w+ ){0,5}nicht (?:mehr )?(?:buchen|stornieren|einchecken)",
    r"(?:can'?t|cannot|unable to|couldn'?t) (?:book|check ?in|join the waitlist)",
    r"(?:can'?t|cannot|unable to|couldn'?t) cancel (?:my|a|the) (?:class|booking)",
    r"(?:booking|check-?in)\w{0,40} (?:\w+ )?(?:fail|error|broken|not work|doesn|isn|won)",
    r"(?:code|karte|card|ticket|pass)\w{0,40} (?:\w+ ){0,3}"
    r"(?:nicht (?:mehr )?(?:erkannt|akzeptiert|angenommen)"
    r"|(?:isn'?t|not|no longer) (?:\w+ )?(?:accepted|recogni[sz]ed|scanned))",
    r"nicht (?:mehr )?reingekommen|komme? (?:\w+ )?nicht (?:mehr )?rein|(?:couldn'?t|can'?t|cannot) get in\b",
)
DATA_LOSS = _signal(
    "data loss",
    "Datenverlust",
    {"major": 0.9, "critical": 0.3, NONE: -0.8, "cosmetic": -0.6},
    r"daten (?:\w+ ){0,5}(?:weg|verloren|gel(?:ö|oe)scht|verschwunden)\b",
    r"\b(?:sind|ist) (?:\w+ ){0,2}(?:weg|gel(?:ö|oe)scht|verloren)\b",
    r"alles (?:ist )?(?:weg|verloren|gel(?:ö|oe)scht)|verloren gegangen|verschwunden",
    r"(?:data|history|workouts?|runs?|progress|bookings?|entries|records?|stats|plan) "
    r"(?:\w+ ){0,6}(?:gone|lost|deleted|wiped|vanished|disappeared)",
    r"lost (?:all )?(?:my|our)|\b(?:vanished|disappeared|wiped)\b",
)
FAILURE = _signal(
    "something fails",
    "etwas funktioniert nicht",
    {"major": 0.3, "minor": 0.3, NONE: -0.5},
    r"(?:funktioniert|\bgeht|klappt) (?:\w+ ){0,3}nicht\b",
    r"\bfehler(?:meldung)?\b|kaputt|\bbug\b|\berror\b|fehler beim laden|failed to load",
    r"not working|doesn'?t work|does not work|isn'?t working|\bbroken\b",
)
EVERYONE = _signal(
    "all users affected",
    "alle Nutzer betroffen",
    # who is affected, not what fails: alone it only leans towards the graver classes; "critical"
    # needs the whole app or a core flow down as well (ALL_USERS_DOWN below)
    {"critical": 0.3, "major": 0.1, NONE: -0.3, "cosmetic": -0.3, "minor": -0.3},
    r"\b(?:alle|allen|s(?:ä|ae)mtliche[nr]?) (?:unsere[n]? )?"
    r"(?:nutzer|user|benutzer|kunden|kundinnen|mitglieder|teilnehmer|mitarbeiter|kollegen|standorte[n]?"
    r"|filialen|studios)\w*",
    r"\bbei allen\b|\bbei jedem\b|\bf(?:ü|ue)r alle\b|bei (?:niemandem|keinem)",
    r"\b(?:niemand|keiner|kein einziger|kein einziges)\b (?:\w+ ){0,2}(?:kann|kommt|von|mehr|unserer)",
    r"nicht nur bei mir|auch bei (?:meinen |allen )?(?:freunden|kollegen|anderen)",
    r"\beveryone\b|\beverybody\b|\bevery (?:single )?(?:user|customer|member)",
    r"\ball (?:of )?(?:our |the )?(?:users?|customers?|members?|clients?|locations|studios|gyms|staff)\b",
    r"\b(?:nobody|no one|none of (?:us|our|the \w+))\b (?:\w+ ){0,3}(?:can|could|is able|gets|has)",
    r"not (?:just|only) me|other (?:users|members) (?:\w+ )?(?:too|as well|also)",
    # a whole customer organisation counts as everyone
    r"\b(?:unser|unsere|unseres|das|die|der|im|in der|in unserem|in unserer) (?:ganze|gesamte)[nsr]? "
    r"(?:team|firma|betrieb|b(?:ü|ue)ro|schule|klasse|verein|abteilung|filiale|belegschaft|flotte)",
    r"\b(?:whole|entire) (?:team|company|office|school|staff|organi[sz]ation|department|fleet|club|branch)",
)
OUTAGE = _signal(
    "service down",
    "Dienst ausgefallen",
    {"critical": 1.2, "major": 0.2, NONE: -0.8, "cosmetic": -0.6, "minor": -0.4},
    r"\b(?:server|dienst|service|system|plattform|platform|website|webseite|backend|api)\b "
    r"(?:\w+ ){0,3}(?:down|offline|ausgefallen|nicht erreichbar|unreachable|unavailable)\b",
    r"\b(?:is|ist|are|sind|seems|went|goes) (?:\w+ )?(?:completely |totally |komplett )?(?:down|offline)\b",
    r"\b(?:total)?ausfall\b|st(?:ö|oe)rung|\boutage\b|server ?(?:error|fehler)|bad gateway",
    r"service unavailable|wartungsarbeiten|maintenance mode",
)
WHOLE_APP = _signal(
    "the whole app fails",
    "die ganze App geht nicht",
    # the app itself as what fails, not one of its functions ("die App geht nicht", "the app isn't
    # working"); "... when I export" names a function and is left to the others
    {"critical": 0.2, "major": 0.3, NONE: -0.6, "cosmetic": -0.4},
    r"\b(?:die|unsere|eure|ihre|the|our|your) (?:ganze |gesamte |komplette |whole |entire )?"
    r"(?:app|anwendung|plattform|platform|webseite|website|seite|site|portal|system|software)\b"
    r" (?:\w+ ){0,3}(?:(?:geht|funktioniert|l(?:ä|ae)dt|reagiert|l(?:ä|ae)uft)"
    r" (?:\w+ ){0,2}(?:nicht|gar nicht)"
    r"|(?:doesn'?t|does not|won'?t|will not|isn'?t|is not) (?:\w+ )?(?:work|load|respond|working|loading)"
    r"|(?:is|seems) (?:\w+ )?(?:dead|broken|unresponsive))\b"
    r"(?! (?:\w+ ){0,2}(?:wenn|sobald|beim|bei der|when|whenever|if|once))",
)
NOTHING_WORKS = _signal(
    "nothing works",
    "nichts funktioniert",
    {"critical": 0.6, "major": 0.5, NONE: -0.8, "cosmetic": -0.6, "minor": -0.4},
    r"(?:geht|funktioniert|klappt) (?:\w+ )?(?:gar|(?:ü|ue)berhaupt) nichts",
    r"nichts (?:geht|funktioniert|klappt) mehr",
    r"gar nichts (?:mehr )?(?:geht|funktioniert)|(?:komplett|v(?:ö|oe)llig|total) (?:unbrauchbar|tot|kaputt)",
    r"unbrauchbar|nothing (?:works|is working|loads)",
    r"(?:completely|totally|entirely) (?:broken|dead|unusable)",
    r"\bunusable\b",
)
SINCE_UPDATE = _signal(
    "since the update",
    "seit dem Update",
    {"major": 0.2, "critical": 0.1, "minor": 0.1, NONE: -0.4},
    r"(?:seit|nach) (?:dem|der) (?:\w+ ){0,2}(?:update|version|aktualisierung|release)",
    r"since (?:the |this |today'?s |yesterday'?s )?(?:\w+ )?(?:update|release|version)",
    r"after (?:the |this |updating|the latest |the last )?(?:\w+ )?(?:update|release)",
)
NO_WORKAROUND = _signal(
    "no workaround",
    "keine Umgehung",
    {"major": 0.6, "minor": -0.6},
    r"(?:hilft|half|bringt|brachte|nutzt) (?:\w+ ){0,2}(?:nicht|nichts)|hat (?:\w+ )?nichts gebracht",
    r"(?:didn'?t|does ?n'?t|did not|does not|won'?t) (?:\w+ )?help|nothing helps|no (?:way|work) ?around",
    r"kein(?:en)? (?:workaround|ausweg)|neu installiert|reinstall\w*",
    r"tried everything|alles (?:\w+ )?(?:probiert|versucht)",
    r"immer noch (?:nicht|nichts|kaputt|abst|der gleiche|dasselbe)",
    r"still (?:crash|not|doesn|won|the same|broken|nothing)",
    r"(?:auch|selbst) nach (?:einem |dem )?neustart|even after|egal (?:was|wie)|no matter (?:what|how)",
)
WORKAROUND = _signal(
    "workaround exists",
    "Umgehung vorhanden",
    {"minor": 1.0, "major": -0.6, "critical": -0.8},
    r"umgeh\w*|workaround|zur not|vorerst|\bfor now\b",
    r"(?:(?:ü|ue)ber|im|am|per|mit|auf) (?:den |die |das |der |dem )?"
    r"(?:browser|webseite|website|web|desktop|pc|laptop|tablet|ipad|e-?mail)\w{0,40}"
    r" (?:\w+ ){0,2}(?:geht|klappt|funktioniert)\b(?! (?:\w+ ){0,2}(?:nicht|nichts))",
    r"(?:geht|klappt|funktioniert) (?:es )?(?:aber|dann|wieder|trotzdem)\b(?! (?:\w+ )?nicht)",
    r"(?:beim|im) (?:zweiten|dritten|n(?:ä|ae)chsten) (?:versuch|anlauf)",
    r"(?<!auch )(?<!selbst )nach (?:einem |dem )?neustart",
    r"\bnur,? wenn\b|\berst,? (?:wenn|nachdem)\b|\bonly (?:if|when|after)\b",
    r"\bich (?:\w+ ){0,3}(?:halt|eben)\b|\bi just (?:\w+ ){0,2}(?:adjust|check|use|correct|do|add|enter)",
    r"(?:works|working|worked) (?:\w+ )?(?:on|via|in|through|with|if|when|after|again)\b",
    r"(?:\bbut|(?<!even )\bthough)\b (?:\w+ ){0,6}(?:works|worked)|via the (?:website|browser|desktop)",
    r"(?:second|third|another) (?:try|attempt)",
    r"(?<!even )after (?:a restart|restarting|reconnecting|re-?logging)",
    r"(?:restart|reconnect|relog)\w{0,40} (?:\w+ )?(?:fixes|helps|solves)|von hand|manuell|by hand|manually",
    r"danach (?:\w+ )?(?:geht|l(?:ä|ae)uft|klappt|funktioniert)"
    r" (?:\w+ ){0,2}(?:normal|alles|es|wieder|problemlos)",
    # another way to the same result: another payment method, the app itself instead of a shortcut or
    # widget, the phone instead of the app
    r"(?:mit|per|(?:ü|ue)ber|am|im|in der|auf) (?:\w+ ){1,3}"
    r"(?:konnte|kann|geht|ging|klappt|klappte|funktioniert)"
    r" (?:es |ich )?(?:aber|problemlos|normal|einwandfrei)\b(?! (?:\w+ ){0,2}(?:nicht|nichts|auch nicht))",
    r"(?:direkt |innerhalb )?in der app (?:selbst )?(?:\w+ ){0,2}"
    r"(?:schon|geht es|klappt es|funktioniert es)\b"
    r"(?! (?:\w+ ){0,3}(?:nicht|nichts|kaputt))",
    r"(?:inside|within|directly in|in) the (?:app|website|browser|web app) (?:itself )?(?:works|is fine)",
    r"(?:in der app|die app (?:\w+ )?(?:(?:ö|oe)ffne|aufmache)),?"
    r" (?:\w+ ){0,3}(?:aktuell|richtig|korrekt|stimmt)",
    r"(?:in|opening|open) the app (?:\w+ ){0,2}(?:shows|has|is)"
    r" (?:\w+ ){0,2}(?:right|correct|up to date|fine)\b",
    r"(?:called|rang|phoned|angerufen|telefonisch)\w* (?:\w+ ){0,8}(?:for me|f(?:ü|ue)r mich)",
    r"but (?:i|it|we) (?:\w+ )?(?:get|gets|got) there|eventually (?:works|loads|gets there)"
    r"|irgendwann (?:\w+ )?(?:geht|klappt|l(?:ä|ae)dt|komme)",
    r"(?:fine|ok|okay|works|normal) after that|after that (?:it )?(?:works|runs|is fine)",
)
REST_WORKS = _signal(
    "only one function, the rest works",
    "nur eine Funktion, der Rest geht",
    # the service is not down: whoever is affected, this is "major" (or "minor" with a workaround)
    {"critical": -1.4, "major": 0.5, NONE: -0.3},
    r"(?:alles|alle) (?:andere[n]?|(?:ü|ue)brige[n]?) (?:\w+ ){0,3}"
    r"(?:geht|gehen|funktionier\w*|l(?:ä|ae)uf\w*|klapp\w*|ist (?:ok|in ordnung|normal))",
    r"\b(?:der|die|das) rest (?:\w+ ){0,4}"
    r"(?:geht|funktioniert|l(?:ä|ae)uft|klappt|ist (?:ok|in ordnung|normal))",
    r"\b(?:sonst|ansonsten) (?:\w+ ){0,4}(?:geht|funktioniert|l(?:ä|ae)uft|klappt)"
    r"|\b(?:sonst|ansonsten) (?:ist )?alles (?:ok|in ordnung|normal|gut)",
    r"(?:die )?app (?:selbst|an sich|ansonsten) (?:\w+ ){0,2}(?:geht|funktioniert|l(?:ä|ae)uft)",
    r"\bnur (?:der|die|das|beim|bei der|beim) (?:\w+ ){1,3}(?:geht|klappt|funktioniert) (?:\w+ ){0,3}nicht",
    r"everything else (?:\w+ ){0,2}(?:works|is (?:fine|ok|okay|working|normal)|seems fine|runs)",
    r"(?:the )?rest of (?:the )?(?:app|site|website|system|platform|service) (?:\w+ ){0,2}"
    r"(?:works|is (?:fine|ok|working)|runs)",
    r"(?:other|all other) (?:features|functions|parts|screens) (?:\w+ ){0,2}(?:work|are (?:fine|ok|working))",
    r"(?:the )?app itself (?:\w+ ){0,2}(?:works|is fine|runs)|otherwise (?:\w+ ){0,3}(?:works|fine|ok)",
    r"\bonly (?:the )?(?:\w+ ){1,3}(?:is|are) (?:broken|affected|failing|not working)",
    r"\b(?:works?|working|runs?|running) (?:as normal|normally|as usual)\b",
    r"\bstill (?:works?|runs?|working)\b",
    r"(?:geht|gehen|funktioniert|funktionieren|klappt|klappen|l(?:ä|ae)uft|laufen) (?:aber )?"
    r"(?:weiterhin|noch|wie gewohnt|ganz normal)\b(?! (?:\w+ ){0,2}(?:nicht|nichts))",
)
INTERMITTENT = _signal(
    "only sometimes",
    "nur manchmal",
    {"minor": 0.5, "major": -0.2, "critical": -0.4},
    r"manchmal|ab und zu|gelegentlich|hin und wieder|sporadisch|zeitweise|nicht immer",
    r"sometimes|occasionally|every now and then|from time to time|now and again|intermittent\w*|not always",
)
SLOW = _signal(
    "slow or late",
    "langsam oder verspätet",
    {"minor": 0.6, NONE: -0.3, "cosmetic": -0.2},
    r"langsam|\blahm|(?:dauert|l(?:ä|ae)dt) (?:\w+ ){0,2}(?:ewig|lange|ewigkeiten)",
    r"(?:braucht|dauert|takes|needs) (?:\w+ ){0,3}0 (?:sekunden|minuten|seconds|minutes)",
    r"ruckel\w*|verz(?:ö|oe)gert",
    r"versp(?:ä|ae)tet|zu sp(?:ä|ae)t|\bslow\w*|sluggish|laggy|\blags?\b|takes (?:ages|forever|a long time)",
    r"(?:arrive|arrives|come|comes|show up|shows up) (?:\w+ ){0,2}late\b|\bdelayed\b",
)
DISPLAY = _signal(
    "display only",
    "nur die Darstellung",
    {"cosmetic": 1.0, NONE: -0.3, "major": -0.3, "critical": -0.5},
    r"verrutscht|verschoben|abgeschnitten|(?:ü|ue)berlapp\w*|(?:ü|ue)bereinander|ausgerichtet|nicht mittig",
    r"verzerrt|unscharf|pixelig|\blayout|darstellung\w*|\bfarbe\w*|dark ?mode|dunkelmodus|dunklen modus",
    r"\bschrift(?:art|gr(?:ö|oe)(?:ss|ß)e|farbe)?\b|kontrast|\bicons?\b|\bsymbole?\b|abst(?:a|ä)nde?\b",
    r"misaligned|alignment|not cent(?:er|re)d|cut off|truncated|overlap\w*|stretched|blurry|pixelated",
    r"squashed|squished|gestaucht|gequetscht",
    r"\bcolou?rs?\b|\bfonts?\b|spacing|contrast|looks (?:weird|odd|off|messy|strange|ugly|wrong)",
    r"(?:isn'?t|not|nicht) (?:\w+ )?(?:cent(?:er|re)d|zentriert|mittig)|datumsformat|date format",
    r"(?:us|amerikanischen|falschen|wrong) format",
    r"sieht (?:\w+ ){0,2}(?:komisch|seltsam|unordentlich|h(?:ä|ae)sslich|falsch) aus",
)
TYPO = _signal(
    "typo or wording",
    "Tippfehler oder Formulierung",
    {"cosmetic": 1.2, NONE: -0.4, "major": -0.4, "critical": -0.6},
    r"tipp?fehler|schreibfehler|rechtschreib\w*|grammatik\w*|falsch geschrieben|buchstabendreher",
    r"\btypos?\b|spelling|misspel\w*|grammar\w*|nicht (?:ü|ue)bersetzt|untranslated|not translated",
    r"(?:steht|hei(?:ss|ß)t|says|reads) .{0,30}(?:statt|anstatt|instead of)",
    r"(?:still|immer noch) (?:\w+ ){0,2}(?:says|steht|in german|auf deutsch|in english|auf englisch)",
)
WISH = _signal(
    "wish or suggestion",
    "Wunsch oder Vorschlag",
    {NONE: 1.0, "cosmetic": -0.3, "minor": -0.3, "major": -0.4, "critical": -0.5},
    r"w(?:ä|ae)re (?:\w+ )?(?:sch(?:ö|oe)n|toll|super|cool|klasse|praktisch|hilfreich|gut)|w(?:ü|ue)nsche",
    r"vorschlag|anregung|\bidee\b|feature[- ]?(?:request|wunsch)|wann kommt|geplant",
    r"h(?:ä|ae)tte (?:\w+ )?gern|m(?:ö|oe)chte (?:\w+ )?gern|\bwould like\b|\bi'?d like\b",
    r"would be (?:\w+ )?(?:nice|great|cool|helpful|awesome|useful)|i'?d love|\bi wish\b|suggestion",
    r"please add|could you (?:please )?add|any plans|is .{0,30} planned|(?:are|is) (?:you|they) planning",
    r"when (?:is|will) .{0,30} (?:come|coming)",
)
QUESTION = _signal(
    "question",
    "Frage",
    {NONE: 0.4},
    r"(?:^|\n|[.!?:]\s+)(?:wie|wo|wann|welche\w*|gibt es|kann ich|kann man|k(?:ö|oe)nnen sie|k(?:ö|oe)nnt ihr"
    r"|ist es m(?:ö|oe)glich|bietet|habt ihr|haben sie|how|where|when|which|is there|are there|can i|do you"
    r"|is it possible|will|does|are you|wird|werden|muss man|m(?:ü|ue)ssen wir)\b",
    r"geht das\?|ist das m(?:ö|oe)glich|is that possible|is there a way",
)
THANKS = _signal(
    "thanks or praise",
    "Dank oder Lob",
    {NONE: 0.6},
    r"dank(?:e)? f(?:ü|ue)r (?:die|ihre|eure|deine) (?:\w+ )?(?:hilfe|antwort|unterst(?:ü|ue)tzung)",
    r"thanks? (?:you )?for (?:the|your) (?:\w+ )?(?:help|reply|support)|kudos|great job|gef(?:ä|ae)llt mir",
    r"love the (?:new )?(?:app|update|version)|\blob\b",
    r"\bdanke (?:an )?(?:alle|euch alle|das (?:ganze )?team)\b",
    r"l(?:ä|ae)uft (?:alles )?(?:super|prima|bestens)",
)
RESOLVED = _signal(
    "resolved",
    "hat sich erledigt",
    {NONE: 1.2, "minor": -0.5, "major": -0.5, "critical": -0.5},
    r"(?:jetzt|inzwischen|mittlerweile) (?:\w+ ){0,2}(?:klappt|funktioniert|geht) (?:\w+ )?wieder",
    r"alles (?:klappt|funktioniert|geht) wieder|(?:everything|it) (?:\w+ )?works again|working again now",
    r"(?:problem|fehler) (?:\w+ ){0,2}(?:gel(?:ö|oe)st|erledigt|behoben)|(?:solved|resolved|fixed) itself",
    r"hat sich (?:\w+ )?(?:erledigt|gekl(?:ä|ae)rt)|sorted itself out",
    r"(?:problem|issue) (?:\w+ ){0,2}(?:is|was|got|has been) (?:now )?(?:sorted|fixed|resolved)",
)
REQUEST = _signal(
    "request, not a fault",
    "Anliegen, kein Fehler",
    # a cancellation or a deletion the customer asks for: work for the team, not a fault
    {NONE: 0.8},
    r"(?:bitte|m(?:ö|oe)chte|will) (?:\w+ ){0,4}(?:k(?:ü|ue)ndigen|l(?:ö|oe)schen|stornieren)\b",
    r"\bk(?:ü|ue)ndigen sie\b|\bl(?:ö|oe)schen sie\b",
    r"(?:please|i(?:'d| would) like to|i want to) (?:\w+ ){0,2}(?:cancel|delete|close|terminate) "
    r"(?:my|our) (?:subscription|account|membership|contract|plan|data)",
)
URGENT = _signal(
    "marked urgent",
    "als dringend bezeichnet",
    {"critical": 0.2, "major": 0.1},
    r"dringend|schnellstm(?:ö|oe)glich|\basap\b|\burgent\w*|kritisch|\bcritical\b|!!!",
)

SIGNALS: tuple[Signal, ...] = (
    CRASH,
    WONT_START,
    LOGIN,
    PAYMENT,
    BOOKING,
    DATA_LOSS,
    FAILURE,
    EVERYONE,
    OUTAGE,
    WHOLE_APP,
    NOTHING_WORKS,
    SINCE_UPDATE,
    NO_WORKAROUND,
    WORKAROUND,
    REST_WORKS,
    INTERMITTENT,
    SLOW,
    DISPLAY,
    TYPO,
    WISH,
    QUESTION,
    THANKS,
    RESOLVED,
    REQUEST,
    URGENT,
)
# a core function down for all users is the definition of "critical", whatever the model says ...
CORE_FAILURES = frozenset(
    signal.name for signal in (CRASH, WONT_START, LOGIN, PAYMENT, BOOKING, DATA_LOSS, FAILURE, NOTHING_WORKS)
)
# ... but a generic "geht nicht" for everyone may be one export among many functions: only these count
DOWN_FOR_ALL = (CORE_FAILURES - {FAILURE.name}) | {OUTAGE.name, WHOLE_APP.name}
# ... and not when the writer says the rest works or names a way around it
LIMITED = frozenset({REST_WORKS.name, WORKAROUND.name})
ALL_USERS_DOWN = "all users + core function failing"
ALL_USERS_DOWN_GERMAN = "alle Nutzer betroffen und eine Kernfunktion fällt aus"
ALL_USERS_DOWN_WEIGHTS: Mapping[str, float] = {"critical": 1.0, "major": -0.3}
# signals whose hits mark a text as a fault report (used to keep such texts out of the "none" examples)
FAULT_SIGNALS = CORE_FAILURES | {OUTAGE.name, WHOLE_APP.name, DISPLAY.name, TYPO.name, SLOW.name}


def find_signals(text: str | MappedText) -> tuple[Hit, ...]:
    """Every signal that fires on a normalised text, first match each, in the order of SIGNALS.

    With a `MappedText`, each hit quotes the original words behind the match.
    """
    hits = []
    for signal, start, end in _matches(text if isinstance(text, str) else text.text):
        quote = (text[start:end] if isinstance(text, str) else text.original_span(start, end)).strip()
        # a pattern anchored on the end of the previous sentence quotes from the new one
        hits.append(Hit(signal, quote.lstrip(_LEADING_PUNCTUATION) or quote))
    return tuple(hits)


@functools.lru_cache(maxsize=64)
def _matches(text: str) -> tuple[tuple[Signal, int, int], ...]:
    """Where each signal first fires in `text` (widened to whole words). Remembered for a few texts:
    an escalation's text is searched for its severity guess and again for what may be shown to the
    customer (mailbot.classify.disclosure), ~0.3 ms each for a mail of a few kB (issue 13)."""
    found = []
    for signal in SIGNALS:
        match = signal.pattern.search(text)
        if match:
            found.append((signal, *_whole_words(text, match.start(), match.end())))
    return tuple(found)


_LEADING_PUNCTUATION = ".,;:!? \t\n"


def _whole_words(text: str, start: int, end: int) -> tuple[int, int]:
    """The match widened to whole words, so a reason quotes "fehlgeschlagen", not "fehl" (a match
    that ends in punctuation, like "!!!", stays as it is)."""
    while 0 < start < len(text) and text[start].isalnum() and text[start - 1].isalnum():
        start -= 1
    while 0 < end < len(text) and text[end - 1].isalnum() and text[end].isalnum():
        end += 1
    return start, end


def adjustments(hits: Iterable[Hit]) -> tuple[dict[str, float], tuple[str, ...]]:
    """Score changes per label from the hits, and the reasons in the order they count."""
    hits = tuple(hits)
    change = dict.fromkeys(LABELS, 0.0)
    reasons = [hit.reason for hit in hits]
    for hit in hits:
        for label, weight in hit.signal.weights.items():
            change[label] += weight
    names = {hit.signal.name for hit in hits}
    if EVERYONE.name in names and names & DOWN_FOR_ALL and not names & LIMITED:
        for label, weight in ALL_USERS_DOWN_WEIGHTS.items():
            change[label] += weight
        reasons.append(f"signal: {ALL_USERS_DOWN}")
    return change, tuple(reasons)


def is_fault_report(text: str) -> bool:
    """True when a normalised text contains any fault signal (crash, failure, display, slowness ...)."""
    return any(hit.signal.name in FAULT_SIGNALS for hit in find_signals(text))
