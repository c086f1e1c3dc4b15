"""The service contract's sections: business hours, public holidays, SLA targets per severity class,
and who is alerted about urgent faults while the business calendar is closed."""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import Field, ValidationInfo, field_validator, model_validator

from mailbot.domain import Language, Severity
from mailbot.settings_base import Address, Section

_HOURS_RANGE = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class HolidaySettings(Section):
    """Public holidays of one country, optionally one subdivision (a German state, a US state, ...).

    Validated against the `holidays` package here, so a typo fails at start-up and not when the first
    SLA is computed; codes are normalised to the spelling the package expects.
    """

    country: str  # ISO 3166-1 code, e.g. "DE"
    subdivision: str | None = None  # e.g. "BY" (Bayern); None: nationwide holidays only

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str) -> str:
        code = value.strip().upper()
        if code not in holidays.list_supported_countries(include_aliases=True):
            accepted = ", ".join(sorted(holidays.list_supported_countries(include_aliases=False)))
            raise ValueError(f"unknown holiday country {value!r}; use an ISO 3166-1 code, one of: {accepted}")
        return str(holidays.country_holidays(code).country)  # an alias like 'DEU' becomes 'DE'

    @field_validator("subdivision")
    @classmethod
    def _known_subdivision(cls, value: str | None, info: ValidationInfo) -> str | None:
        country = info.data.get("country")
        if value is None or country is None:  # a bad country has been reported already
            return value
        entity = holidays.country_holidays(country)
        aliases: dict[str, str] = getattr(entity, "subdivisions_aliases", {})
        known = {code.casefold(): code for code in entity.subdivisions}
        known.update({name.casefold(): code for name, code in aliases.items()})  # 'Bayern' becomes 'BY'
        if value.strip().casefold() in known:
            return known[value.strip().casefold()]
        names = {code: name for name, code in reversed(aliases.items())}  # first alias of each code
        accepted = ", ".join(
            f"{code} ({names[code]})" if code in names else code for code in entity.subdivisions
        )
        if not accepted:
            raise ValueError(f"{country} has no subdivisions in the holidays calendar; leave subdivision out")
        raise ValueError(
            f"unknown subdivision {value!r} of {country}; use one of: {accepted} "
            "(or leave subdivision out for nationwide holidays only)"
        )


class BusinessHoursSettings(Section):
    timezone: str = "Europe/Berlin"
    always_open: bool = False
    monday: list[str] = Field(default_factory=list)
    tuesday: list[str] = Field(default_factory=list)
    wednesday: list[str] = Field(default_factory=list)
    thursday: list[str] = Field(default_factory=list)
    friday: list[str] = Field(default_factory=list)
    saturday: list[str] = Field(default_factory=list)
    sunday: list[str] = Field(default_factory=list)
    closed: list[str] = Field(default_factory=list)  # company closures, ISO dates
    holidays: HolidaySettings | None = None  # public holidays are closed like company closures
    # mail that arrives while closed: "wait" holds it until the next opening, "acknowledge" answers at once
    outside_hours: Literal["wait", "acknowledge"] = "wait"
    # true: confident knowledge-base answers go out while closed too; escalations still wait (see
    # mailbot.pipeline.deferral for what may be decided outside business hours)
    answer_outside_hours: bool = False

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name like 'Europe/Berlin'") from None
        return value

    @field_validator(*WEEKDAYS)
    @classmethod
    def _ranges(cls, ranges: list[str]) -> list[str]:
        for text in ranges:
            parse_hours_range(text)
        return ranges

    @field_validator("closed")
    @classmethod
    def _dates(cls, dates: list[str]) -> list[str]:
        for text in dates:
            try:
                date.fromisoformat(text)
            except ValueError:
                raise ValueError(f"{text!r} is not a date like '2026-12-24'") from None
        return dates

    @model_validator(mode="after")
    def _some_hours(self) -> BusinessHoursSettings:
        if not self.always_open and not any(getattr(self, day) for day in WEEKDAYS):
            raise ValueError(
                'no opening hours: give at least one weekday, e.g. monday = ["08:00-17:00"], '
                "or set always_open = true"
            )
        return self


def parse_hours_range(text: str) -> tuple[time, time]:
    """'08:00-12:00' -> (08:00, 12:00); '24:00' is allowed as an end meaning midnight."""
    match = _HOURS_RANGE.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not an opening-hours range like '08:00-17:00'")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2):
        raise ValueError(f"{text!r} is not a valid time range")
    start = time(h1, m1)
    end = time.max if h2 == 24 else time(h2, m2)
    if end <= start:
        raise ValueError(f"{text!r} ends before it starts")
    return start, end


SlaCalendar = Literal["business", "24/7"]


class SlaTarget(Section):
    """Response and resolution targets of one severity class, in hours of its calendar: the business
    calendar ([business_hours]) or around the clock ("24/7", for faults "handled without delay")."""

    response_hours: float = Field(gt=0)
    resolution_hours: float = Field(gt=0)
    calendar: SlaCalendar = "business"

    @model_validator(mode="after")
    def _response_first(self) -> SlaTarget:
        if self.response_hours > self.resolution_hours:
            raise ValueError(
                f"response_hours ({self.response_hours:g}) must not exceed "
                f"resolution_hours ({self.resolution_hours:g}): a fault is answered before it is solved"
            )
        return self


DEFAULT_SLA_HOURS: dict[str, tuple[float, float]] = {  # (response, resolution) per class
    Severity.CRITICAL.value: (2, 8),
    Severity.MAJOR.value: (8, 24),
    Severity.MINOR.value: (24, 80),
    Severity.COSMETIC.value: (40, 200),
}


def _default_target(severity: Severity) -> SlaTarget:
    response, resolution = DEFAULT_SLA_HOURS[severity.value]
    return SlaTarget(response_hours=response, resolution_hours=resolution)


class SlaSettings(Section):
    """The service contract's targets per severity; defaults are the contract's standard classes."""

    warn_at: float = Field(default=0.75, gt=0, lt=1)  # share of the response target that triggers a warning
    # the SLA clock starts at the delivery time, but at most this long before mailbot took the mail
    # (mailbot.tickets.sla.clock_start): re-filed archive mail must not start in the past
    start_skew_minutes: float = Field(default=15.0, ge=0)
    # the contract: does the automatic acknowledgement count as the first response? (default: only a
    # person's answer does; mailbot.reports.times)
    acknowledgement_is_response: bool = False
    near_miss: float = Field(default=0.8, gt=0, lt=1)  # an achieved target that used this share is shown
    critical: SlaTarget = _default_target(Severity.CRITICAL)
    major: SlaTarget = _default_target(Severity.MAJOR)
    minor: SlaTarget = _default_target(Severity.MINOR)
    cosmetic: SlaTarget = _default_target(Severity.COSMETIC)

    @model_validator(mode="before")
    @classmethod
    def _default_hours(cls, data: Any) -> Any:
        """`[sla.critical] calendar = "24/7"` alone keeps the class's standard hours."""
        if not isinstance(data, dict):
            return data
        filled = dict(data)
        for name, (response, resolution) in DEFAULT_SLA_HOURS.items():
            section = filled.get(name)
            if isinstance(section, dict) and not {"response_hours", "resolution_hours"} & section.keys():
                filled[name] = {"response_hours": response, "resolution_hours": resolution, **section}
        return filled

    @property
    def start_skew(self) -> timedelta:
        return timedelta(minutes=self.start_skew_minutes)

    def target(self, severity: Severity) -> SlaTarget:
        targets = {
            Severity.CRITICAL: self.critical,
            Severity.MAJOR: self.major,
            Severity.MINOR: self.minor,
            Severity.COSMETIC: self.cosmetic,
        }
        return targets[severity]

    def around_the_clock(self) -> frozenset[Severity]:
        """The classes whose targets run on the 24/7 calendar."""
        return frozenset(severity for severity in Severity if self.target(severity).calendar == "24/7")


ONCALL_EVENT = "ticket.oncall_alert"  # the webhook event of an on-call alert (list it in [webhook] events)


class OncallSettings(Section):
    """[oncall]: who is alerted at once when a fault of an urgent class arrives while the business
    calendar is closed (mail to `address`, and the webhook event ONCALL_EVENT when subscribed).

    Faults of these classes are also decided at once outside business hours (ticket, acknowledgement,
    team notice) instead of waiting for the opening.
    """

    address: Address | None = None
    language: Language | None = None  # of the alert mail; default: [team] language
    severities: list[Severity] = Field(default_factory=lambda: [Severity.CRITICAL], min_length=1)
