"""What `mailbot kb gaps` writes: gaps.json (the source of truth) and one draft article per gap. Pure:
text in, text out; the command writes the files.

A draft is an article in the knowledge-base format (knowledge_base/README.md) whose answer is a
skeleton of lines marked `[[draft]]`: `mailbot kb check` refuses it, naming the line, until an agent
has written the answer in their place. Its examples are the cluster's representative mails, masked;
`sources` lists the tickets behind it. Customer text only ever enters as YAML strings (JSON-quoted),
never as markup.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mailbot.kb.validate import DRAFT_MARKER, ID_PATTERN
from mailbot.reports.gap_model import EXTEND, Cluster, GapSettings

_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


@dataclass(frozen=True)
class Gap:
    """A cluster under its stable id."""

    gap_id: str
    cluster: Cluster

    @property
    def trend(self) -> str:
        first, second = self.cluster.first_half, self.cluster.second_half
        return "rising" if second > first else "falling" if second < first else "steady"


def draft_name(gap: Gap) -> str:
    return f"{gap.gap_id}.{gap.cluster.language}.md"


def draft_id(gap: Gap) -> str:
    """An article id from the gap's two top terms ("gutschein-einloesen"), else the gap id."""
    words = [term.translate(_UMLAUTS) for term, _ in gap.cluster.terms[:2]]
    slug = re.sub(r"[^a-z0-9]+", "-", "-".join(words).casefold()).strip("-")
    return slug if slug and ID_PATTERN.match(slug) else gap.gap_id


def draft_article(gap: Gap, sources: Sequence[str], article_paths: Mapping[str, str]) -> str:
    """The draft article of one gap; `article_paths`: article id -> its file, for "extend"."""
    cluster = gap.cluster
    german = cluster.language == "de"
    lines = ["---", f"# {_origin(gap, german)}"]
    if cluster.verdict == EXTEND and cluster.article_id:
        where = article_paths.get(cluster.article_id, cluster.article_id)
        lines.append(f"# {_extend_note(cluster.article_id, where, cluster.similarity, german)}")
    lines += [
        f"id: {draft_id(gap)}",
        f"title: {_string(cluster.title or cluster.name or gap.gap_id)}",
        f"language: {cluster.language}",
        f"tags: [{', '.join(_string(term) for term, _ in cluster.terms[:3])}]",
        "sources:",
        *(f"  - {_string(reference)}" for reference in sources),
        "examples:",
        *(f"  - {_string(text)}" for text in cluster.quotes()),
        "---",
        *_skeleton(cluster, german),
        "",
    ]
    return "\n".join(lines)


def _origin(gap: Gap, german: bool) -> str:
    size, name = len(gap.cluster.members), gap.cluster.name
    if german:
        return (
            f"Entwurf von `mailbot kb gaps` ({gap.gap_id}): {size} Mails ohne passende Antwort, Thema: {name}"
        )
    return f"Draft by `mailbot kb gaps` ({gap.gap_id}): {size} mails without a fitting answer, topic: {name}"


def _extend_note(article_id: str, where: str, similarity: float, german: bool) -> str:
    if german:
        return (
            f"Nahe am Artikel {article_id} ({where}, Ähnlichkeit {similarity:.2f}): eher dessen Beispiele und"
            " Antwort ergänzen als einen neuen Artikel anlegen"
        )
    return (
        f"Near article {article_id} ({where}, similarity {similarity:.2f}): rather extend its examples and"
        " answer than add a new article"
    )


def _skeleton(cluster: Cluster, german: bool) -> list[str]:
    if german:
        lines = [
            f"{DRAFT_MARKER} Schreiben Sie hier die Antwort (Markdown, „Sie“, ohne Anrede und Gruß) und"
            f" löschen Sie dann jede Zeile mit {DRAFT_MARKER}.",
            f"{DRAFT_MARKER} Die Kunden fragen zum Beispiel:",
        ]
    else:
        lines = [
            f"{DRAFT_MARKER} Write the answer here (Markdown, no greeting or signature), then delete every"
            f" line with {DRAFT_MARKER}.",
            f"{DRAFT_MARKER} Customers ask, for example:",
        ]
    return lines + [f"{DRAFT_MARKER} - {text}" for text in cluster.quotes(120)[:3]]


def _string(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def gaps_document(
    gaps: Sequence[Gap],
    one_offs: Sequence[str | None],
    corpus: Mapping[str, int],
    meta: Mapping[str, Any],
    settings: GapSettings,
) -> dict[str, Any]:
    """gaps.json: every gap with its evidence; customer text only as masked, shortened quotes."""
    return {
        **meta,
        "settings": {
            "distance": settings.distance,
            "new_below": settings.new_below,
            "min_size": settings.min_size,
            "min_senders": settings.min_senders,
        },
        "corpus": dict(corpus),
        "gaps": [_gap_entry(gap) for gap in gaps],
        "one_offs": {"count": len(one_offs), "references": [ref for ref in one_offs if ref]},
    }


def _gap_entry(gap: Gap) -> dict[str, Any]:
    cluster = gap.cluster
    return {
        "id": gap.gap_id,
        "name": cluster.name,
        "terms": [[term, weight] for term, weight in cluster.terms],
        "title": cluster.title,
        "size": len(cluster.members),
        "language": cluster.language,
        "trend": {
            "first_half": cluster.first_half,
            "second_half": cluster.second_half,
            "direction": gap.trend,
        },
        "verdict": cluster.verdict,
        "article_id": cluster.article_id,
        "similarity": cluster.similarity,
        "representatives": [
            {
                "reference": mail.reference,
                "arrived_at": _iso(mail.arrived_at),
                "why": mail.why,
                "severity": mail.severity,
                "text": text,
            }
            for mail, text in zip(cluster.representatives, cluster.quotes(), strict=True)
        ],
        "draft": draft_name(gap),
    }


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="seconds")
