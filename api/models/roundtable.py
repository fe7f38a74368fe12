"""The round table as the API speaks it: topics, tables, votes, decisions, participation."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, StringConstraints

from api.models.common import ApiModel

ModelId = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00]+$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=5000, pattern=r"^[^\x00]*$")]
Title = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]
Short = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[^\x00]*$")]
RowRef = Annotated[int, Field(ge=1, le=2**62)]
Matter = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
Level = Literal["community", "estate", "building", "online"]
Choice = Literal["yes", "no", "abstain"]
ParticipantRole = Literal[
    "office", "property", "owners_committee", "residents_rep", "department", "resident"
]
OwnerRole = Literal[
    "office", "property", "owners_committee", "residents_rep", "department", "worker"
]


class PlaceFields(ApiModel):
    """Where: a building (and stairwell), a grid, or a public-area point in local metres."""

    building_id: ModelId | None = None
    stairwell: Short | None = None
    grid_id: ModelId | None = None
    x: float | None = Field(default=None, ge=-1e6, le=1e6)
    y: float | None = Field(default=None, ge=-1e6, le=1e6)


class TopicCreate(PlaceFields):
    title: Title
    body: Text
    matter: Matter = "ordinary"
    incident_ids: list[ModelId] = Field(default_factory=list, max_length=200)
    suggestion_key: (
        Annotated[str, StringConstraints(min_length=1, max_length=300, pattern=r"^[^\x00]*$")]
        | None
    ) = None


class TopicPublic(PlaceFields):
    id: int
    title: str
    body: str
    matter: str
    origin: str
    category: str | None
    status: str
    created_at: datetime
    incident_ids: list[str]
    concerns_me: bool | None = Field(
        default=None, description="a resident's: whether the topic's place concerns their household"
    )


class TopicsPublic(ApiModel):
    count: int
    data: list[TopicPublic]


class SuggestionPublic(ApiModel):
    key: str
    category: str
    places: list[str]
    building_id: str | None
    grid_id: str | None
    x: float | None
    y: float | None
    incident_ids: list[str]
    first_at: datetime
    last_at: datetime


class SuggestionsPublic(ApiModel):
    threshold: int
    window_days: float
    count: int
    data: list[SuggestionPublic]


class OpinionCreate(ApiModel):
    body: Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=r"^[^\x00]*$")]


class OpinionPublic(ApiModel):
    id: int
    building_id: str
    unit_id: str | None = Field(description="the household's unit: shown to the office only")
    body: str
    created_at: datetime


class ParticipantCreate(ApiModel):
    role: ParticipantRole
    name: Short
    account_id: RowRef | None = None


class TableCreate(PlaceFields):
    level: Level
    title: Title
    starts_at: AwareDatetime
    location: Title | None = None
    topic_ids: list[RowRef] = Field(default_factory=list, max_length=50)
    participants: list[ParticipantCreate] = Field(default_factory=list, max_length=100)


class Attendance(ApiModel):
    participant_id: RowRef
    attended: bool


class TableUpdate(ApiModel):
    minutes: Annotated[str, StringConstraints(max_length=50000, pattern=r"^[^\x00]*$")] | None = (
        None
    )
    status: Literal["scheduled", "held", "cancelled"] | None = None
    attendance: list[Attendance] = Field(default_factory=list, max_length=100)


class ParticipantPublic(ApiModel):
    id: int
    role: str
    name: str
    account_id: int | None
    attended: bool | None


class TablePublic(PlaceFields):
    id: int
    level: str
    title: str
    starts_at: datetime
    location: str | None
    status: str
    minutes: str | None
    topic_ids: list[int]
    participants: list[ParticipantPublic]
    concerned_households: int


class TablesPublic(ApiModel):
    count: int
    data: list[TablePublic]


class VoteCreate(ApiModel):
    level: Level = "online"
    table_id: RowRef | None = None
    matter: Matter | None = None  # the topic's by default
    opens_at: AwareDatetime | None = None  # now by default
    closes_at: AwareDatetime


class CountFigures(ApiModel):
    """The result with the rule that counted it and the figures behind it (areas in m²)."""

    law_id: str
    rule_id: str
    rule_name: str
    source: str
    matter: str
    total_area: str
    total_owners: int
    participating_area: str
    participating_owners: int
    yes_area: str
    yes_owners: int
    no_area: str
    no_owners: int
    participation_met: bool
    passed: bool
    reason: str


class VotePublic(ApiModel):
    id: int
    topic_id: int
    table_id: int | None
    level: str
    matter: str
    rule_id: str
    opens_at: datetime
    closes_at: datetime
    closed: bool
    concerned_households: int
    ballots: int
    my_choice: str | None = None
    concerns_me: bool | None = Field(
        default=None, description="a resident's: whether their household is in the electorate"
    )
    result: CountFigures | None = None


class BallotCast(ApiModel):
    choice: Choice
    # Optional; when sent they must be the session's household (a tampered ballot is refused).
    building_id: ModelId | None = None
    unit_id: ModelId | None = None


class BallotPublic(ApiModel):
    vote_id: int
    building_id: str
    unit_id: str
    choice: str
    cast_at: datetime


class ActionCreate(ApiModel):
    title: Title
    owner_role: OwnerRole | None = None
    owner_account: RowRef | None = None
    due_at: AwareDatetime
    building_id: ModelId | None = None
    grid_id: ModelId | None = None


class DecisionCreate(ApiModel):
    body: Text
    vote_id: RowRef | None = None
    table_id: RowRef | None = None
    actions: list[ActionCreate] = Field(default_factory=list, max_length=50)


class ActionPublic(ApiModel):
    id: int
    decision_id: int
    topic_id: int
    title: str
    owner_role: str | None
    owner_account: int | None
    due_at: datetime
    building_id: str | None
    grid_id: str | None
    status: str
    done_at: datetime | None
    overdue: bool


class ActionKpisPublic(ApiModel):
    total: int
    open: int
    done: int
    cancelled: int
    overdue: int
    done_late: int
    closed_loop_rate: float | None


class DecisionPublic(ApiModel):
    id: int
    topic_id: int
    vote_id: int | None
    table_id: int | None
    body: str
    decided_at: datetime
    actions: list[ActionPublic]
    kpis: ActionKpisPublic


class ActionsPublic(ApiModel):
    count: int
    data: list[ActionPublic]
    kpis: ActionKpisPublic


class ActionUpdate(ApiModel):
    status: Literal["open", "in_progress", "done", "cancelled"]


class EntryCreate(ApiModel):
    client_id: Short
    building_id: ModelId
    unit_id: ModelId
    kind: Literal["report_confirmed", "vote_cast", "opinion_given", "volunteer_hours"]
    hours: float | None = Field(default=None, gt=0, le=24)
    at: AwareDatetime | None = None


class EntryPublic(ApiModel):
    client_id: str
    building_id: str
    unit_id: str
    kind: str
    at: datetime
    hours: float | None
    created: bool = False


class ParticipationKpi(ApiModel):
    days: int
    households: int
    participating: int
    rate: float | None
    by_kind: dict[str, int]
    volunteer_hours: float


class GovernancePublic(ApiModel):
    """The cockpit's governance scene in one read: what is open, coming, decided and done."""

    open_topics: list[TopicPublic]
    upcoming_tables: list[TablePublic]
    open_votes: list[VotePublic]
    actions: ActionsPublic
    participation: ParticipationKpi
