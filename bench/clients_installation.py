"""Generate an installation of N clients from CLINC150 (CC BY 3.0, Larson et al. 2019), for benchmarks.

Each client gets 30 of the 150 intents and 30 of each intent's 100 training examples, drawn with its own
seed, so no two knowledge bases are alike (as no two real clients' are), plus 40 of the 100 out-of-scope
training examples as `_out_of_scope.md`, a Maildir, its own support and team address, ticket prefix and
public holidays. Client k is the same in every installation, so N=1 is the first client of N=50.
Only the train splits are used; the `val` split provides the mails of `mail_for`.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bench.datasets.writer import OUT_OF_SCOPE_FILE, OUT_OF_SCOPE_ID, article_markdown, dedupe, slugify

CLINC150_FILE = Path("clinc150") / "data_full.train_val.json"
INTENTS_PER_CLIENT = 30
EXAMPLES_PER_ARTICLE = 30
OUT_OF_SCOPE_EXAMPLES = 40
# German states: each client's calendar has its own public holidays
STATES = ("BY", "BW", "BE", "HH", "HE", "NI", "NW", "SN", "TH", "SH", "RP", "SL", "BB", "MV", "ST", "HB")
ANSWER = """Thank you for your question about {topic}.

{name} handles this in the app: open **Settings → {title}** and follow the steps shown there. If the
option is missing, update the app to the newest version first; the change takes effect at once.

If this does not solve it, simply reply to this mail and a colleague will take care of it personally.
"""


@dataclass(frozen=True)
class Client:
    slug: str
    name: str
    prefix: str
    intents: tuple[str, ...]  # CLINC150 labels this client's articles answer


@cache
def clinc150(data: Path) -> dict[str, list[list[str]]]:
    return json.loads((data / CLINC150_FILE).read_text(encoding="utf-8"))


def client(number: int, data: Path) -> Client:
    labels = sorted({label for _, label in clinc150(data)["train"]})
    rng = random.Random(f"client-{number}")
    intents = tuple(rng.sample(labels, INTENTS_PER_CLIENT))
    return Client(f"client{number:02d}", f"Client {number:02d}", f"C{number:02d}", intents)


def write_installation(root: Path, count: int, data: Path, smtp_port: int = 25) -> list[Client]:
    """`root`/mailbot.toml, clients/<slug>/ and maildirs/<slug>/ for clients 1..count."""
    (root / "clients").mkdir(parents=True, exist_ok=True)
    (root / "mailbot.toml").write_text(
        f"""[clients]
dir = "clients"

[database]
url = "sqlite:///mailbot.db"

[support]
default_language = "en"

[smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "none"

[business_hours]
always_open = true
""",
        encoding="utf-8",
    )
    clients = [client(number, data) for number in range(1, count + 1)]
    for number, one in enumerate(clients, 1):
        write_client(root, one, number, data)
    return clients


def write_client(root: Path, one: Client, number: int, data: Path) -> None:
    folder = root / "clients" / one.slug
    kb = folder / "knowledge_base"
    kb.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"examples-{number}")
    by_label: dict[str, list[str]] = {}
    for text, label in clinc150(data)["train"]:
        by_label.setdefault(label, []).append(text)
    chosen = {slugify(label): rng.sample(by_label[label], EXAMPLES_PER_ARTICLE) for label in one.intents}
    oos = rng.sample([text for text, _ in clinc150(data)["oos_train"]], OUT_OF_SCOPE_EXAMPLES)
    examples = dedupe({OUT_OF_SCOPE_ID: oos} | chosen).examples
    for label in one.intents:
        article_id, title = slugify(label), label.replace("_", " ").capitalize()
        body = ANSWER.format(topic=title.lower(), name=one.name, title=title)
        text = article_markdown(article_id, title, "en", examples[article_id], body)
        (kb / f"{article_id}.md").write_text(text, encoding="utf-8")
    text = article_markdown(
        OUT_OF_SCOPE_ID, "Out of scope", "en", examples[OUT_OF_SCOPE_ID], "Never answered automatically."
    )
    (kb / OUT_OF_SCOPE_FILE).write_text(text, encoding="utf-8")
    for sub in ("new", "cur", "tmp"):
        (root / "maildirs" / one.slug / sub).mkdir(parents=True, exist_ok=True)
    (folder / "client.toml").write_text(
        f"""[support]
address = "support@{one.slug}.example"
name = "{one.name} Support"
ticket_prefix = "{one.prefix}"

[team]
address = "team@{one.slug}.example"
language = "en"

[maildir]
path = "../../maildirs/{one.slug}"

[business_hours.holidays]
country = "DE"
subdivision = "{STATES[number % len(STATES)]}"
""",
        encoding="utf-8",
    )


def mail_for(one: Client, data: Path, count: int, seed: int) -> list[tuple[str, str]]:
    """`count` (subject, question) pairs for this client: validation questions of its intents, and one
    question no article answers (an out-of-scope validation text)."""
    rng = random.Random(f"mail-{one.slug}-{seed}")
    mine = [text for text, label in clinc150(data)["val"] if label in set(one.intents)]
    questions = [("Question", text) for text in rng.sample(mine, count - 1)]
    return [*questions, ("Question", rng.choice([text for text, _ in clinc150(data)["oos_val"]]))]
