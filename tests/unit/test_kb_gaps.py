"""`mailbot kb gaps` without a database: planted topics found and named, one-offs left alone, the same
result for shuffled input, ids kept a week later, masked quotes, drafts that `kb check` refuses."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sklearn.metrics import adjusted_rand_score

from mailbot.kb import check_knowledge_base, load_knowledge_base
from mailbot.paths import SHIPPED_KNOWLEDGE_BASE
from mailbot.reports.gap_drafts import Gap, draft_article, draft_name
from mailbot.reports.gap_ids import KnownGap, assign_ids
from mailbot.reports.gap_model import EXTEND, NEW, GapAnalysis, GapMail
from mailbot.reports.gap_model import article_texts as to_article_texts
from mailbot.reports.gap_text import mask, quote
from mailbot.reports.gaps import find_gaps
from tests.unit.gap_mails import NEAR_ARTICLE, ONE_OFFS, PLANTED

START = datetime(2026, 11, 1, tzinfo=UTC)
END = datetime(2026, 12, 1, tzinfo=UTC)
ONE_OFF = "one-off"
# a week later: two more mails per topic, in words not used before
LATER = {
    "gutschein": [
        (
            "Gutschein vom Fitnessstudio",
            "Mein Studio hat mir einen Gutschein für Aktivo gegeben, wie geht das?",
        ),
        ("", "wo gebe ich den gutschein ein? finde nix"),
    ],
    "warteliste": [
        ("Warteliste Zumba", "Ich bin auf der Warteliste für Zumba auf Platz 2, wann weiß ich Bescheid?"),
        ("Nachrücken", "Rücke ich von der Warteliste automatisch nach oder muss ich die App offen haben?"),
    ],
    "ernährungsplan": [
        ("Ernährungsplan Muskelaufbau", "Gibt es einen Ernährungsplan speziell für Muskelaufbau?"),
        ("Glutenfrei", "Lässt sich der Ernährungsplan auch glutenfrei einstellen?"),
    ],
    "rechnung": [
        (
            "Rechnung für die Firma",
            "Kann ich eine Rechnung bekommen, auf der meine Firma als Empfänger steht?",
        ),
        ("USt-ID", "Auf der Rechnung muss unsere USt-ID stehen, wie trage ich die ein?"),
    ],
}


def planted(
    start: datetime = START, topics: dict[str, list[tuple[str, str]]] = PLANTED, first_id: int = 1
) -> tuple[list[GapMail], dict[int, str]]:
    """The planted mails, topics interleaved in time (one every 17 hours), each from its own sender."""
    rows = [
        (topic, *mail)
        for round_ in zip(*topics.values(), strict=True)
        for topic, mail in zip(topics, round_, strict=True)
    ]
    if topics is PLANTED:
        rows += [(ONE_OFF, *mail) for mail in ONE_OFFS]
    mails, truth = [], {}
    for number, (topic, subject, text) in enumerate(rows, first_id):
        at = start + timedelta(hours=17 * (number - first_id))
        mails.append(
            GapMail(
                number, at, subject, text, "not_confident", f"MB-{number:06d}", "de", f"k{number}@example.org"
            )
        )
        truth[number] = topic
    return mails, truth


@pytest.fixture(scope="module")
def articles() -> list:
    return to_article_texts(load_knowledge_base(SHIPPED_KNOWLEDGE_BASE).articles)


@pytest.fixture(scope="module")
def analysis(articles: list) -> GapAnalysis:
    mails, _ = planted()
    return find_gaps(mails, articles, START, END)


def topic_of(members: tuple[int, ...], truth: dict[int, str]) -> str:
    return Counter(truth[member] for member in members).most_common(1)[0][0]


def test_planted_topics_are_found_with_an_adjusted_rand_index_of_at_least_0_9(analysis: GapAnalysis) -> None:
    """ARI over the 32 planted topic mails (the one-offs are checked apart below); a planted mail left
    out of every cluster counts as a cluster of its own, so it lowers the index."""
    _, truth = planted()
    found = {member: index for index, cluster in enumerate(analysis.clusters) for member in cluster.members}
    members = [number for number, topic in truth.items() if topic != ONE_OFF]
    ari = adjusted_rand_score([truth[m] for m in members], [found.get(m, -m) for m in members])
    assert ari >= 0.9, ari
    assert len(analysis.clusters) == 4


def test_three_new_topics_and_one_near_the_invoice_article(analysis: GapAnalysis) -> None:
    _, truth = planted()
    verdicts = {topic_of(c.members, truth): (c.verdict, c.article_id) for c in analysis.clusters}
    assert verdicts["rechnung"] == (EXTEND, NEAR_ARTICLE)
    assert {topic: verdict for topic, (verdict, _) in verdicts.items() if topic != "rechnung"} == {
        "gutschein": NEW,
        "warteliste": NEW,
        "ernährungsplan": NEW,
    }


def test_one_offs_are_in_no_cluster(analysis: GapAnalysis) -> None:
    _, truth = planted()
    one_offs = {number for number, topic in truth.items() if topic == ONE_OFF}
    assert one_offs <= set(analysis.one_offs)
    assert not one_offs & {member for cluster in analysis.clusters for member in cluster.members}


def test_each_cluster_is_named_by_its_keyword_and_titled_by_a_member(analysis: GapAnalysis) -> None:
    mails, truth = planted()
    subjects = {mail.inbound_id: mail.subject for mail in mails}
    for cluster in analysis.clusters:
        keyword = topic_of(cluster.members, truth)
        assert keyword in [term for term, _ in cluster.terms], (keyword, cluster.terms)
        assert cluster.title in {subjects[member] for member in cluster.members} | {""}
        assert len(cluster.representatives) == 5
        assert all(rep.inbound_id in cluster.members for rep in cluster.representatives)


def test_the_trend_counts_the_two_halves_of_the_range(analysis: GapAnalysis) -> None:
    mails, _ = planted()
    middle = START + (END - START) / 2
    for cluster in analysis.clusters:
        arrived = [mail.arrived_at for mail in mails if mail.inbound_id in cluster.members]
        assert (cluster.first_half, cluster.second_half) == (
            sum(at < middle for at in arrived),
            sum(at >= middle for at in arrived),
        )
        assert cluster.first_half + cluster.second_half == len(cluster.members)


def test_same_result_twice_and_for_shuffled_input(articles: list, analysis: GapAnalysis) -> None:
    mails, _ = planted()
    assert find_gaps(mails, articles, START, END) == analysis
    for seed in range(3):
        shuffled = list(mails)
        random.Random(seed).shuffle(shuffled)
        again = find_gaps(shuffled, articles, START, END)
        assert again == analysis
        assert assign_ids(again.clusters, []) == assign_ids(analysis.clusters, [])


def test_a_run_a_week_later_with_more_mails_keeps_the_ids(articles: list, analysis: GapAnalysis) -> None:
    mails, truth = planted()
    first_ids = assign_ids(analysis.clusters, [])
    assert first_ids == ["gap-0001", "gap-0002", "gap-0003", "gap-0004"]
    by_topic = {topic_of(c.members, truth): gap for c, gap in zip(analysis.clusters, first_ids, strict=True)}
    known = [
        KnownGap(gap, frozenset(c.members), dict(c.terms))
        for c, gap in zip(analysis.clusters, first_ids, strict=True)
    ]
    week = timedelta(days=7)
    extra, extra_truth = planted(END, LATER, first_id=100)
    later_mails = [mail for mail in mails if mail.arrived_at >= START + week] + extra
    later = find_gaps(later_mails, articles, START + week, END + week)
    later_truth = {**truth, **extra_truth}
    later_ids = assign_ids(later.clusters, known)
    assert {
        topic_of(c.members, later_truth): gap for c, gap in zip(later.clusters, later_ids, strict=True)
    } == (by_topic)
    assert {member for c in later.clusters for member in c.members} >= set(extra_truth)


def test_a_cluster_of_new_mails_keeps_its_id_by_its_terms_and_a_new_topic_gets_the_next_number(
    articles: list, analysis: GapAnalysis
) -> None:
    """All mails new (no member in common): the top terms decide; ids are never reused."""
    _, truth = planted()
    waiting = next(c for c in analysis.clusters if topic_of(c.members, truth) == "warteliste")
    known = [KnownGap("gap-0007", frozenset({9001, 9002, 9003}), dict(waiting.terms))]
    topics = {"warteliste": PLANTED["warteliste"], "gutschein": PLANTED["gutschein"]}
    later_mails, later_truth = planted(END, topics, first_id=500)
    later = find_gaps(later_mails, articles, END, END + timedelta(days=30))
    ids = assign_ids(later.clusters, known)
    found = {topic_of(c.members, later_truth): gap for c, gap in zip(later.clusters, ids, strict=True)}
    assert found == {"warteliste": "gap-0007", "gutschein": "gap-0008"}


def test_a_topic_from_one_sender_is_no_gap(articles: list) -> None:
    mails, _ = planted()
    same = [
        GapMail(m.inbound_id, m.arrived_at, m.subject, m.text, m.why, m.reference, "de", "one@example.org")
        if m.inbound_id in {1, 5, 9, 13, 17, 21, 25, 29}
        else m
        for m in mails
    ]
    gutschein = {1, 5, 9, 13, 17, 21, 25, 29}
    assert any(set(c.members) == gutschein for c in find_gaps(mails, articles, START, END).clusters)
    assert not any(set(c.members) & gutschein for c in find_gaps(same, articles, START, END).clusters)


def test_quotes_are_masked_and_short() -> None:
    text = (
        "Bitte an max.muster@example.org oder +49 170 1234567 antworten, IBAN DE89 3704 0044 0532 0130 00, "
        "Kundennummer 123456789, siehe https://aktivo.example.com/konto?id=42"
    )
    masked = mask(text)
    for secret in ("max.muster", "example.org", "1234567", "DE89", "0532", "123456789", "https://"):
        assert secret not in masked, secret
    assert "[E-Mail]" in masked and "[IBAN]" in masked and "[Nummer]" in masked and "[Link]" in masked
    long = quote("Betreff", "wort " * 200)
    assert len(long) <= 202 and long.endswith("…") and long.startswith("Betreff: wort")


def test_a_draft_is_refused_by_kb_check_until_its_answer_is_written(
    analysis: GapAnalysis, tmp_path: Path
) -> None:
    gap = Gap("gap-0001", analysis.clusters[0])
    path = tmp_path / draft_name(gap)
    path.write_text(draft_article(gap, ["MB-000001", "MB-000005"], {}), encoding="utf-8")

    problems = check_knowledge_base(tmp_path)
    assert len(problems) == 1
    lines = path.read_text(encoding="utf-8").split("\n")
    marker_line = next(number for number, line in enumerate(lines, 1) if "[[draft]]" in line)
    assert problems[0].line == marker_line
    assert "still a draft" in problems[0].message and "delete" in problems[0].fix

    text = path.read_text(encoding="utf-8")
    answer = "\n".join(line for line in text.split("\n") if "[[draft]]" not in line)
    path.write_text(answer.rstrip("\n") + "\nSo lösen Sie einen Gutschein ein: **Profil → Gutschein**.\n")
    assert check_knowledge_base(tmp_path) == []
    article = load_knowledge_base(tmp_path).articles[0]
    assert article.examples == analysis.clusters[0].quotes()
    assert article.id.startswith(analysis.clusters[0].terms[0][0].replace("ä", "ae"))
