"""The customer's accountId for `raiseOnBehalfOf`, or a CustomerUnavailable that says why there is none.

Cloud wants an accountId there, not an e-mail address, and creating a customer that exists returns
no accountId. So, in this order:

1. the desk's customers (`GET servicedesk/{id}/customer?query=<email>`);
2. else create the customer (`POST /customer`, needs the *Jira Administrator* global permission);
3. if the account exists already, or Jira refuses to create it (403), the platform user search
   (`GET /rest/api/3/user/search?query=<email>`, needs *Browse users and groups*: without that
   permission Jira answers with an empty list, not an error);
4. then add the account to the desk (`POST servicedesk/{id}/customer`, needs the desk's
   administrator role), unless `[jira] add_customers_to_desk = false`.

Profiles may hide the e-mail address. A lookup then returns the user without `emailAddress`; a
single such hit for the full address is taken as the customer (Jira matched it on the address).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from mailbot.escalate import HttpPermanentError, HttpTransientError
from mailbot.escalate.jira_http import API, EXPERIMENTAL

if TYPE_CHECKING:  # the client owns this helper; a runtime import would be circular
    from mailbot.escalate.jira import JsmClient

log = logging.getLogger(__name__)
BROWSE_USERS = (
    "the user search found nobody (it needs the 'Browse users and groups' global permission for the [jira]"
    " user: without it Jira silently returns an empty list)"
)


class CustomerUnavailable(HttpPermanentError):
    """No account of this customer can be used for raiseOnBehalfOf; the message says why and what helps."""


class CustomerAccounts:
    """E-mail -> accountId, asked once per client (a run) and per customer, failures included."""

    def __init__(self, client: JsmClient) -> None:
        self._client = client
        self._known: dict[str, str | CustomerUnavailable] = {}

    def ensure(self, email: str, display_name: str) -> str:
        key = email.strip().lower()
        known = self._known.get(key)
        if isinstance(known, CustomerUnavailable):
            raise known
        if known is not None:
            return known
        try:
            account = self._on_desk(key) or self._elsewhere(key, display_name.strip() or key)
        except CustomerUnavailable as exc:
            self._known[key] = exc
            raise
        self._known[key] = account
        return account

    def _on_desk(self, email: str) -> str | None:
        c = self._client
        desk = c.desk().id
        users = c._pages(
            f"{API}/servicedesk/{desk}/customer",
            {"query": email},
            f"looking up customer {email}",
            {404: c.desk_hint(), 403: f"the [jira] user must be an agent of service desk {desk}"},
            EXPERIMENTAL,
        )
        return _pick(users, email)

    def _elsewhere(self, email: str, display_name: str) -> str:
        created, refused = self._create(email, display_name)
        account = created or self._search(email)
        if account is None:
            desk, user = self._client.desk().id, self._client.settings.user
            if refused:
                raise CustomerUnavailable(
                    f"{email} is no customer of service desk {desk} that {user} can find (an e-mail address"
                    f" hidden in the Atlassian profile is not matched), Jira refused to create the account"
                    f" ({refused}; creating customers needs the Jira Administrator global permission), and"
                    f" {BROWSE_USERS}"
                )
            raise CustomerUnavailable(
                f"Jira says an account for {email} exists, but {user} cannot find it: it is no customer of"
                f" service desk {desk}, and {BROWSE_USERS}"
            )
        if self._client.settings.add_customers_to_desk:
            self._add_to_desk(account, email)
        return account

    def _create(self, email: str, display_name: str) -> tuple[str | None, str | None]:
        """(new accountId, None); (None, None) if it exists; (None, Jira's words) if Jira refuses (403)."""
        c = self._client
        what = f"creating customer {email}"
        response = c._send(
            "POST",
            f"{API}/customer",
            what,
            params={"strictConflictStatusCode": "true"},
            json={"email": email, "displayName": display_name},
            allow=(400, 403, 409),
        )
        status = response.status_code
        if status == 403:
            return None, f"403: {c._detail(response)}"
        if status == 409 or (status == 400 and "exist" in c._detail(response).lower()):
            return None, None
        c._check(response, what, {})
        account = c._json(response, what).get("accountId")
        if not account:
            raise HttpTransientError(f"Jira answered {what} without an accountId", status)
        log.info("created Jira customer account for %s", email)
        return str(account), None

    def _search(self, email: str) -> str | None:
        c = self._client
        what = f"searching the account of {email}"
        response = c._send("GET", "/rest/api/3/user/search", what, params={"query": email, "maxResults": 50})
        found = c._json(response, what)
        return _pick(found if isinstance(found, list) else [], email)

    def _add_to_desk(self, account: str, email: str) -> None:
        c = self._client
        desk = c.desk().id
        what = f"adding customer {email} to service desk {desk}"
        response = c._send(
            "POST",
            f"{API}/servicedesk/{desk}/customer",
            what,
            json={"accountIds": [account]},
            headers=EXPERIMENTAL,
            allow=(403,),
            hints={404: c.desk_hint()},
        )
        if response.status_code == 403:
            raise CustomerUnavailable(
                f"Jira refused {what} (403: {c._detail(response)}): that needs the administrator role of"
                f" service desk {desk}; grant it, or set [jira] add_customers_to_desk = false if the desk is"
                " open to everyone"
            )


def _pick(users: Iterable[Any], email: str) -> str | None:
    """An exact e-mail match wins; a single hit whose e-mail the profile hides is accepted."""
    found = [u for u in users if isinstance(u, Mapping) and u.get("accountId")]
    exact = [u for u in found if str(u.get("emailAddress", "")).lower() == email]
    if exact:
        return str(exact[0]["accountId"])
    if len(found) == 1 and not found[0].get("emailAddress"):
        return str(found[0]["accountId"])
    return None
