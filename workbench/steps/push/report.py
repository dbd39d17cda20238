"""The Push step's findings as typed records: a replay of production's logged traffic
against a candidate (`workbench replay`, the `push.replay` item), declared once and read
back with its type, never by key."""

from __future__ import annotations

import msgspec

from workbench.checklist.checks import HasDetails, Report, report_of


class FieldAgreement(msgspec.Struct, kw_only=True, frozen=True):
    """One response field: how often the candidate answered as production did."""

    field: str
    agreed: int = 0
    compared: int = 0
    absent: str | None = None  # why it was never compared (never logged: `x-log: false`)


class ReplayError(msgspec.Struct, kw_only=True, frozen=True):
    """A replayed request the candidate did not answer with 200."""

    status: int  # 0: no answer at all (refused, timed out)
    request_id: str | None  # the candidate's (its X-Request-ID)
    production_request_id: str  # the request production answered
    message: str


class ReplayReport(Report, frozen=True, kw_only=True):
    """One replay: production's logged requests sent to a candidate run locally."""

    channel: str
    candidate: str  # the candidate release's version
    production: str  # the version(s) production answered with, as its log lines say
    source: str  # where the log lines came from (the service's replicas, or a file)
    replayed_at: str
    logged: int  # predictions found in the logs read
    sent: int  # of which replayed (bounded, sampled)
    answered: int  # answered 200 by the candidate
    agreed: int  # answered, and every compared field as production answered
    fields: list[FieldAgreement] = []
    absent_inputs: list[str] = []  # request fields never logged (`x-log: false`)
    candidate_p50_ms: float | None = None
    candidate_p99_ms: float | None = None
    production_p50_ms: float | None = None  # None: production's latency was not in its log
    production_p99_ms: float | None = None
    errors: list[ReplayError] = []
    minimum: float | None = None  # `monitoring.replay_min_agreement` at the time

    @property
    def agreement(self) -> float | None:
        """The share of replayed requests answered as production answered them."""
        return self.agreed / self.sent if self.sent else None


class Replays(Report, frozen=True, kw_only=True):
    """What `push.replay` read: the replay of each channel."""

    replays: list[ReplayReport] = []


def replays_of(result: HasDetails | None) -> Replays | None:
    """The replays a `push.replay` result carries (None when it carries none)."""
    return report_of(result, Replays, "push.replay")
