"""The benchmark converters on tiny synthetic inputs: what they write must load, and must not leak."""

from __future__ import annotations

import csv
import email
import json
import random
from dataclasses import replace
from email import policy
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.datasets import LOCAL_SETS, aktivo_severity, banking77_oos, clinc150, german_tickets, xsid
from bench.datasets import __main__ as cli
from bench.datasets.email_form import choose_style, compose, wrap_cases
from bench.datasets.writer import (
    OUT_OF_SCOPE_FILE,
    ArticleSpec,
    Case,
    Dataset,
    article_markdown,
    dedupe,
    slugify,
    write_dataset,
)
from bench.quality import extra_figures, parse_report, precision_at_test_mix
from mailbot.classify.evaluate import check_expected, load_cases
from mailbot.kb import load_knowledge_base
from mailbot.kb.validate import ID_PATTERN

HOSTILE = [
    "no",
    "yes",
    "null",
    "~/home",
    "2024",
    "1e3",
    "- leading dash",
    "# looks like a comment",
    "key: value",
    "ends with colon:",
    "a #hash inside",
    "'single' quotes",
    '"double" quotes',
    "&anchor",
    "*alias",
    "!tag",
    "%directive",
    "@at",
    "`backtick",
    "[a, list]",
    "{a: map}",
    "--- fence",
    "... dots",
    "two\nlines",
    "first\n---\nfence-like line inside",
    "tab\tinside",
    "Grüße aus Köln – ß",
    "trailing backslash \\",
    "   padded   ",
]


def front_matter(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8").split("---\n")[1])


def tiny(name: str = "tiny", **changes) -> Dataset:
    data = Dataset(
        name=name,
        language="en",
        articles=[ArticleSpec("a", "A", ("how do i a", "a please")), ArticleSpec("b", "B", ("b now",))],
        oos_examples=["tell me a joke"],
        cases=[Case("tiny-1", "a?", "a", "en"), Case("tiny-2", "weather", None, "en")],
    )
    for key, value in changes.items():
        setattr(data, key, value)
    return data


@pytest.mark.parametrize(
    ("label", "slug"),
    [
        ("Account & Billing Management", "account-billing-management"),
        ("alarm/set_alarm", "alarm-set_alarm"),
        ("BookRestaurant", "bookrestaurant"),
        ("what_is_your_name", "what_is_your_name"),
        ("  -Weird..Label- ", "weird..label"),
    ],
)
def test_slugify_gives_valid_ids(label, slug):
    assert slugify(label) == slug
    assert ID_PATTERN.match(slug)


def test_slugify_refuses_a_label_without_usable_characters():
    with pytest.raises(ValueError, match="no character"):
        slugify("&&&")


def test_hostile_texts_round_trip_through_the_kb_loader(tmp_path):
    articles = [ArticleSpec(f"t{n}", f"title: {text}", (text,)) for n, text in enumerate(HOSTILE)]
    write_dataset(tiny(articles=articles, cases=[]), tmp_path)
    kb = load_knowledge_base(tmp_path / "kb")
    loaded = {article.id: article.examples for article in kb.articles}
    assert loaded == {f"t{n}": (text.strip(),) for n, text in enumerate(HOSTILE)}


@settings(max_examples=200, deadline=None)
@given(
    st.text(
        st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")) | st.sampled_from("\n\t"), min_size=1
    )
)
def test_any_printable_text_round_trips(tmp_path_factory, text):
    if not any(char.isalnum() for char in text):
        return  # texts without a letter or digit are skipped by design
    folder = tmp_path_factory.mktemp("kb")
    (folder / "x.md").write_text(article_markdown("x", "X", "en", [text], "Answer."), encoding="utf-8")
    assert load_knowledge_base(folder).articles[0].examples == (text.strip(),)


def test_dedupe_drops_conflicts_from_every_side_and_merges_repeats():
    result = dedupe(
        {"_out_of_scope": ["Hello there!"], "a": ["hello  there", "x", "X.", ""], "b": ["y", "x"]}
    )
    assert result.examples == {"_out_of_scope": [], "a": [], "b": ["y"]}
    assert (result.conflicts_dropped, result.repeats_merged, result.empty_dropped) == (5, 0, 1)
    repeats = dedupe({"a": ["Same", "same?", "other"]})
    assert repeats.examples == {"a": ["Same", "other"]}
    assert repeats.repeats_merged == 1


def test_written_set_loads_and_keeps_out_of_scope_in_its_special_file(tmp_path):
    (tmp_path / "stale.txt").write_text("from an earlier build")
    stats = write_dataset(tiny(), tmp_path)
    assert not (tmp_path / "stale.txt").exists()
    kb = load_knowledge_base(tmp_path / "kb")
    assert [article.id for article in kb.articles] == ["a", "b"]
    oos = front_matter(tmp_path / "kb" / OUT_OF_SCOPE_FILE)
    assert oos == {
        "id": "_out_of_scope",
        "title": "Out of scope",
        "language": "en",
        "examples": ["tell me a joke"],
    }
    assert "Never answered automatically." in (tmp_path / "kb" / OUT_OF_SCOPE_FILE).read_text()
    lines = [json.loads(line) for line in (tmp_path / "cases.jsonl").read_text().splitlines()]
    assert lines[1] == {"id": "tiny-2", "subject": "", "text": "weather", "expected": None, "language": "en"}
    assert (stats.articles, stats.examples, stats.oos_examples) == (2, 3, 1)
    assert (stats.cases_in_scope, stats.cases_out_of_scope) == (1, 1)


def test_cases_without_text_or_without_article_are_dropped(tmp_path):
    cases = [Case("c1", "a?", "a", "en"), Case("c2", " . ", None, "en"), Case("c3", "zzz", "gone", "en")]
    stats = write_dataset(tiny(cases=cases), tmp_path)
    assert [json.loads(line)["id"] for line in (tmp_path / "cases.jsonl").read_text().splitlines()] == ["c1"]
    assert stats.cases_dropped == 2


def test_an_article_left_without_examples_is_an_error(tmp_path):
    articles = [ArticleSpec("a", "A", ("same",)), ArticleSpec("b", "B", ("Same!",))]
    with pytest.raises(ValueError, match="no example left"):
        write_dataset(tiny(articles=articles), tmp_path)


def test_clinc_cases_come_from_val_and_never_enter_the_kb():
    train = {
        "train": [["book a flight", "book_flight"], ["fly me", "book_flight"]],
        "oos_train": [["joke", "oos"]],
    }
    val = {"val": [["flight to rome", "book_flight"]], "oos_val": [["sing", "oos"]]}
    data = clinc150.dataset("c", train, val)
    assert data.articles == [ArticleSpec("book_flight", "book_flight", ("book a flight", "fly me"))]
    assert [(case.id, case.text, case.expected) for case in data.cases] == [
        ("c-1", "flight to rome", "book_flight"),
        ("c-2", "sing", None),
    ]


def test_banking_cases_record_which_kind_of_out_of_scope():
    row = lambda text, label="oos": {"text": text, "label": label, "label_original": ""}  # noqa: E731
    data = banking77_oos.dataset(
        [row("card?", "card_arrival")],
        [row("rate?")],
        [row("my card", "card_arrival")],
        [row("fx")],
        [row("joke")],
    )
    assert data.oos_examples == ["rate?"]
    assert [(case.expected, case.oos_kind) for case in data.cases] == [
        ("card_arrival", None),
        (None, "id"),
        (None, "ood"),
    ]
    assert json.loads(data.cases[1].to_json())["oos_kind"] == "id"


def test_ticket_split_never_puts_one_group_on_both_sides():
    queues = ["Release Management", "Security Operations"]
    rows = [
        {
            "subject": f"S{n}",
            "body": f"Body {n}\\nZeile<br>2",
            "queue": queues[n % 2],
            "language": "de",
            "dup_group": str(n // 3),
        }
        for n in range(300)
    ]
    rows.append(
        {"subject": "en", "body": "english", "queue": queues[0], "language": "en", "dup_group": "999"}
    )
    data = german_tickets.dataset(rows)
    train_texts = {text for article in data.articles for text in article.examples}
    group_of = {f"S{n}": str(n // 3) for n in range(300)}
    train_groups = {group_of[text.split("\n")[0]] for text in train_texts}
    case_groups = {group_of[case.subject] for case in data.cases}
    assert train_groups.isdisjoint(case_groups)
    assert 0.18 <= len(data.cases) / 300 <= 0.25
    assert all(case.language == "de" and case.subject != "en" for case in data.cases)
    assert "english" not in "".join(train_texts)
    assert data.cases[0].text.endswith("\nZeile\n2")  # literal \n and <br> became line breaks
    assert german_tickets.dataset(rows).cases == data.cases  # deterministic


def test_xsid_trains_on_one_language_and_tests_on_the_other_without_sharing_a_pair():
    rows = [
        {"id": str(n), "text_de": f"de {n}", "text_en": f"en {n}", "intent": "weather/find"}
        for n in range(60)
    ]
    data = xsid.dataset(rows, "de", "en")
    train_ids = {text.split()[1] for article in data.articles for text in article.examples}
    test_ids = {case.text.split()[1] for case in data.cases}
    assert train_ids.isdisjoint(test_ids) and len(train_ids | test_ids) == 60
    assert all(case.text.startswith("en ") and case.expected == "weather-find" for case in data.cases)
    assert data.name == "xsid_de2en" and data.language == "de"


def mail_parts(raw: bytes) -> list[str]:
    message = email.message_from_bytes(raw, policy=policy.default)
    return [part.get_content_type() for part in message.walk() if not part.is_multipart()]


@pytest.mark.parametrize(
    ("form", "parts"),
    [("plain", ["text/plain"]), ("html", ["text/html"]), ("alternative", ["text/plain", "text/html"])],
)
def test_mail_forms_carry_the_question(form, parts):
    style = replace(choose_style(random.Random(1)), form=form, quote="gmail", greeting="Hallo,")
    question = "how do i <reset> my pin & card?"
    raw = compose(question, "<x@example.org>", style).as_bytes()
    assert mail_parts(raw) == parts
    message = email.message_from_bytes(raw, policy=policy.default)
    body = message.get_body(preferencelist=("plain", "html")).get_content()
    assert question in body if form != "html" else "how do i &lt;reset&gt; my pin &amp; card?" in body
    assert "Hallo," in body and ("> " in body or "<blockquote" in body)
    assert message["From"] == "customer@example.org" and message["To"] == "support@example.com"
    assert message["Message-ID"] == "<x@example.org>" and message["Date"]


def test_wrapped_cases_are_deterministic_and_point_to_their_mail():
    cases = [Case(f"m-{n}", f"question number {n}", "a", "en") for n in range(40)]
    wrapped, files = wrap_cases(cases)
    again, files_again = wrap_cases(cases)
    assert files == files_again and wrapped == again
    assert [case.eml for case in wrapped] == [f"eml/m-{n}.eml" for n in range(40)]
    assert [case.text for case in wrapped] == [case.text for case in cases]
    kinds = {tuple(mail_parts(data)) for data in files.values()}
    assert {("text/plain",), ("text/html",), ("text/plain", "text/html")} <= kinds


def test_cli_builds_a_set_from_a_data_folder(tmp_path, capsys):
    folder = tmp_path / "data" / "xsid_de_en"
    folder.mkdir(parents=True)
    with (folder / "valid.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text_de", "text_en", "intent"])
        writer.writerows([str(n), f"Wetter {n}", f"weather {n}", "weather/find"] for n in range(30))
    assert cli.main(["xsid_en2de", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "out")]) == 0
    assert "xsid_en2de" in capsys.readouterr().out
    assert load_knowledge_base(tmp_path / "out" / "xsid_en2de" / "kb").articles[0].language.value == "en"


def test_runner_figures_from_predictions():
    cases = [
        {"id": "1", "expected": "a"},
        {"id": "2", "expected": None, "oos_kind": "id"},
        {"id": "3", "expected": None, "oos_kind": "id"},
        {"id": "4", "expected": None, "oos_kind": "ood"},
    ]
    predictions = [
        {"id": "1", "predicted": None, "top_article": "a"},
        {"id": "2", "predicted": "a", "top_article": "a"},
        {"id": "3", "predicted": None, "top_article": "a"},
        {"id": "4", "predicted": None, "top_article": "b"},
    ]
    assert extra_figures(cases, predictions) == {
        "id_oos_recall": 0.5,
        "ood_oos_recall": 1.0,
        "argmax_accuracy_from_predictions": 1.0,
    }
    assert parse_report('warning: noise\n{"cases": 4}\n') == {"cases": 4}


def test_precision_at_the_test_splits_mix_weights_each_kind():
    cases = [{"id": str(i), "expected": "a"} for i in range(4)] + [
        {"id": "o1", "expected": None},
        {"id": "o2", "expected": None},
    ]
    by_id = {str(i): {"predicted": "a"} for i in range(3)} | {"3": {"predicted": "b"}}
    by_id |= {"o1": {"predicted": "a"}, "o2": {"predicted": None}}
    # validation: 3 right of 5 answered; test mix 40 in / 20 out: in-scope cases weigh 10, out 10
    assert precision_at_test_mix(cases, by_id, (40, 20)) == pytest.approx(30 / 50)
    # test mix 40 in / 200 out: the one answered out-of-scope case stands for 100 mails
    assert precision_at_test_mix(cases, by_id, (40, 200)) == pytest.approx(30 / 140)
    assert precision_at_test_mix(cases[:4], by_id, (40, 20)) is None


@pytest.mark.parametrize("name", sorted(LOCAL_SETS))
def test_local_sets_load_as_evaluate_reads_them(name):
    kb_dir, cases_file = LOCAL_SETS[name]
    cases = load_cases(cases_file)
    check_expected(cases, load_knowledge_base(kb_dir), cases_file)  # raises on an article the KB lacks
    assert len(cases) >= 100 and all(case.severity is not None for case in cases)


def test_independent_severity_set_is_balanced_and_about_other_apps():
    """Issue 14: 20 cases per class ("none" included), half German, half English, none about Aktivo."""
    assert LOCAL_SETS[aktivo_severity.INDEPENDENT_NAME][1] == aktivo_severity.INDEPENDENT_CASES
    rows = [json.loads(line) for line in aktivo_severity.INDEPENDENT_CASES.read_text("utf-8").splitlines()]
    counts: dict[tuple[str, str], int] = {}
    for row in rows:
        key = (row["severity"] or "none", row["language"])
        counts[key] = counts.get(key, 0) + 1
    classes = ["critical", "major", "minor", "cosmetic", "none"]
    assert counts == {(label, language): 10 for label in classes for language in ("de", "en")}
    assert len({row["id"] for row in rows}) == len(rows)
    assert all(row["expected"] is None and row["app"] and "aktivo" not in row["app"].lower() for row in rows)
