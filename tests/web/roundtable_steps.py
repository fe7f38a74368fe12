"""Steps and helpers of the round table's end-to-end test (tests/web/test_roundtable_loop.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from playwright.sync_api import Browser, Page, expect

from tests.api.test_people_api import session_of
from tests.web.conftest import ConsoleLog
from tests.web.people_site import (
    CID,
    PASSWORD,
    PeopleSite,
    phone,
)
from tests.web.test_people_page import Pw

BASE = f"/v1/communities/{CID}"
COURTYARD = (37.0, 37.0)  # open ground between b01, b02, b04 and b05: grid g1, the estate
ESTATE = {"b01": 18, "b02": 11, "b04": 6, "b05": 11}  # g1's buildings and their storeys
AREA_M2 = 90  # every home's registered floor area in this test
# The households voting on phones: (building, unit, login, language, choice).
PHONES = [
    ("b01", "01-0401", "rt.wang", "zh", "yes"),
    ("b02", "02-0301", "rt.li", "zh", "yes"),
    ("b04", "04-0201", "rt.smith", "en", "no"),
]


def local(dt: datetime) -> str:
    """A datetime-local input's value (the office page's browser runs in UTC)."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def join(site: PeopleSite, building: str, unit: str, login: str) -> dict[str, str]:
    """A resident of the household joins; their session's headers (cookie + CSRF)."""
    body = {"community": CID, "code": site.invite(building, unit), "login": login}
    r = site.call("POST", "/v1/session/join", json={**body, "password": PASSWORD})
    assert r.status_code == 201, r.text
    cookies, csrf = session_of(r)
    return {**cookies, "X-CSRF-Token": csrf}


def get(site: PeopleSite, path: str) -> Any:
    r = site.call("GET", BASE + path, headers=site.reader)
    assert r.status_code == 200, r.text
    return r.json()


def wait_for(check: Any, page: Page, timeout_s: float = 20) -> Any:
    deadline = datetime.now(UTC) + timedelta(seconds=timeout_s)
    while True:
        found = check()
        if found or datetime.now(UTC) > deadline:
            return found
        page.wait_for_timeout(250)


def give_homes_their_areas(site: PeopleSite) -> None:
    with psycopg.connect(site.database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE units SET attributes = attributes || jsonb_build_object('area_m2', %s::int)"
            " WHERE community_id = %s",
            (AREA_M2, CID),
        )


def six_parking_reports(site: PeopleSite, residents: list[dict[str, str]]) -> None:
    for n in range(6):
        x, y = COURTYARD[0] + n % 3, COURTYARD[1] + n // 3
        body = {
            "client_id": f"parking-{n}",
            "category": "parking",
            "description": f"消防通道又被占用停车 #{n}",
            "place": {"kind": "point", "x": x, "y": y},
        }
        r = site.call("POST", "/v1/me/incidents", json=body, headers=residents[n % 3])
        assert r.status_code in (201, 202), r.text


def office_page(browser: Browser, site: PeopleSite) -> tuple[Page, ConsoleLog]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="UTC")
    page = context.new_page()
    log = ConsoleLog()
    page.on("console", log.on_console)
    page.on("pageerror", log.on_page_error)
    page.goto(f"{site.base}/office/{CID}")
    form = page.locator("#signin")
    form.locator("input[name=login]").fill("office.chen")
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    expect(page.locator("body")).to_have_attribute("data-view", "office")
    return page, log


def office_adopts_and_schedules(page: Page, now: datetime) -> tuple[int, int, int]:
    """The suggestion becomes a topic; an estate table and its vote; (topic, table, vote) ids."""
    suggestion = page.locator("#suggestions li.suggestion[data-category=parking]")
    expect(suggestion).to_have_count(1, timeout=10_000)
    expect(suggestion.locator("select.matter")).to_have_value("ordinary")
    suggestion.locator("button.adopt").click()
    topic = page.locator("article.office-topic[data-status=open]")
    expect(topic).to_have_count(1)
    tid = int(str(topic.get_attribute("data-topic")))
    expect(page.locator("#suggestions li.suggestion")).to_have_count(0)

    topic.locator("details.schedule-box > summary").click()
    form = topic.locator("form.schedule")
    form.locator("select[name=level]").select_option("estate")
    form.locator("input[name=title]").fill("一网格停车议事小圆桌")
    form.locator("input[name=starts_at]").fill(local(now + timedelta(days=1)))
    form.locator("input[name=location]").fill("社区议事厅")
    form.locator("textarea[name=participants]").fill(
        "office: 社区居委会 陈主任\nproperty: 物业 李经理\n"
        "owners_committee: 业委会 王主任\nresidents_rep: 居民代表 张阿姨"
    )
    form.locator("button[type=submit]").click()
    table = page.locator("article.office-table")
    expect(table).to_have_count(1)
    expect(table).to_contain_text("涉及 46 户")  # the estate: every home of g1's buildings
    table_id = int(str(table.get_attribute("data-table")))

    topic = page.locator(f"article.office-topic[data-topic='{tid}']")
    topic.locator("details.vote-box > summary").click()
    vote_form = topic.locator("form.open-vote")
    vote_form.locator("select[name=table]").select_option(str(table_id))
    vote_form.locator("input[name=closes_at]").fill(local(now + timedelta(days=3)))
    vote_form.locator("button[type=submit]").click()
    vote = topic.locator(".vote[data-closed=false]")
    expect(vote).to_have_count(1)
    return tid, table_id, int(str(vote.get_attribute("data-vote")))


def cockpit(browser: Browser, site: PeopleSite) -> Page:
    context = browser.new_context(viewport={"width": 1600, "height": 900}, locale="zh-CN")
    page = context.new_page()
    key = site.reader["Authorization"].removeprefix("Bearer ")
    page.goto(f"{site.base}/cockpit/{CID}?key={key}")
    expect(page.locator("#kpi-devices-total")).not_to_have_text("–", timeout=15_000)
    page.locator("#scene-tabs button[data-scene=governance]").click()
    expect(page.locator("#governance-panel")).to_be_visible(timeout=15_000)
    return page


def vote_on_phone(loop: Loop, who: tuple[str, str, str, str, str]) -> Page:
    """Sign in on a phone, open the topic, cast the household's ballot."""
    _, _, login, lang, choice = who
    page, log = phone(loop.pw, "zh-CN" if lang == "zh" else "en-GB")
    loop.logs.append(log)
    page.goto(loop.site.page_url())
    if lang == "en":
        page.locator("#lang").click()
    form = page.locator("#signin")
    form.locator("input[name=login]").fill(login)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    expect(page.locator("body")).to_have_attribute("data-view", "resident")
    open_topic(page, loop.tid)
    expect(page.locator("#topic-evidence code.evidence")).to_have_count(6)
    expect(page.locator(f"#topic-tables li[data-table='{loop.table_id}']")).to_be_visible()
    vote = page.locator(f"#topic-votes .vote[data-vote='{loop.vid}']")
    vote.locator(f"button[data-choice={choice}]").click()
    expect(vote).to_have_attribute("data-my-choice", choice)
    expect(vote.locator(f"button[data-choice={choice}]")).to_have_attribute("aria-pressed", "true")
    return page


def open_topic(page: Page, tid: int) -> None:
    if page.locator("body").get_attribute("data-view") == "topic":
        page.locator("#topic-back").click()
    page.locator(f"#topics li.topic[data-topic='{tid}'] button").click()
    expect(page.locator("body")).to_have_attribute("data-view", "topic")


@dataclass
class Loop:
    site: PeopleSite
    pw: Pw
    now: datetime
    logs: list[ConsoleLog] = field(default_factory=list)
    tid: int = 0
    table_id: int = 0
    vid: int = 0

    @property
    def browser(self) -> Browser:
        return self.pw[1]
