"""The round table end to end (issue 23's "done when"), through the real ingestor and browser.

Six parking reports in the courtyard (a public area of grid g1), sent by
residents through the API → MQTT → the ingestor → PostgreSQL, become a
suggested topic → the office, on its page, makes it a topic and schedules an
estate table and its vote → residents vote on their phones (one household's
second account changes the ballot: the last counts), the rest of the estate
through the API → the office records attendance and minutes, closes and
counts (art. 278: the rule and its figures), prints the minutes, records the
decision with two action items → one is done, one overdue: the cockpit's
governance scene and the residents' phones show both.

A resident's confirmation of a resolved report feeds the participation ledger
once per action (its client id).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.api.test_people_api import session_of
from tests.web.conftest import ConsoleLog, save_screenshot
from tests.web.people_site import (
    CID,
    PASSWORD,
    PeopleSite,
    people_site,
    phone,
    playwright_and_browser,
)
from tests.web.test_people_page import Pw

pytestmark = pytest.mark.browser
__all__ = ["people_site", "playwright_and_browser"]  # fixtures used by this module

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


def test_parking_reports_to_a_decision_followed_through_on_phones_and_cockpit(
    people_site: PeopleSite, playwright_and_browser: Pw
) -> None:
    loop = Loop(people_site, playwright_and_browser, datetime.now(UTC))
    office = reports_become_a_suggestion(loop)
    loop.tid, loop.table_id, loop.vid = office_adopts_and_schedules(office, loop.now)
    assert get(loop.site, f"/topics/{loop.tid}")["origin"] == "suggested"
    screen = the_cockpit_shows_the_topic(loop)
    phones = residents_vote(loop)
    the_office_counts(loop, office)
    the_decision_is_followed(loop, office)
    the_cockpit_shows_the_actions(screen)
    the_phones_follow_the_decision(loop, phones)
    kpi = get(loop.site, "/participation/kpi")  # the ledger: one vote a household, one opinion
    assert kpi["by_kind"].get("vote_cast") == 32, kpi
    assert kpi["by_kind"].get("opinion_given") == 1, kpi
    for page in [*phones, office, screen]:
        page.context.close()
    assert [e for log in loop.logs for e in log.errors] == []


def reports_become_a_suggestion(loop: Loop) -> Page:
    """Six parking reports in the courtyard, through the ingestor: one suggestion."""
    site = loop.site
    give_homes_their_areas(site)
    r = site.call(
        "POST",
        f"{BASE}/accounts",
        json={"login": "office.chen", "role": "office", "password": PASSWORD},
        headers=site.admin,
    )
    assert r.status_code == 201, r.text
    residents = [join(site, b, u, login) for b, u, login, _, _ in PHONES]
    six_parking_reports(site, residents)
    office, log = office_page(loop.browser, site)
    loop.logs.append(log)
    found = wait_for(
        lambda: [s for s in get(site, "/topics/suggested")["data"] if len(s["incident_ids"]) == 6],
        office,
    )
    assert found, get(site, "/topics/suggested")
    assert (found[0]["category"], found[0]["grid_id"]) == ("parking", "g1")
    office.reload()
    expect(office.locator("body")).to_have_attribute("data-view", "office")
    return office


def the_cockpit_shows_the_topic(loop: Loop) -> Page:
    """The governance scene lists the topic, its table and vote; the courtyard is marked."""
    screen = cockpit(loop.browser, loop.site)
    panel = screen.locator("#governance-panel")
    expect(panel.locator(f"li[data-topic='{loop.tid}']")).to_be_visible()
    expect(panel.locator(f"li[data-vote='{loop.vid}']")).to_be_visible()
    expect(panel.locator(f"li[data-table='{loop.table_id}']")).to_be_visible()
    body = screen.locator("body")
    expect(body).to_have_attribute("data-governance-highlight", re.compile(r"^point:"))
    highlight = str(body.get_attribute("data-governance-highlight"))
    assert highlight.startswith("point:"), highlight
    x, y = (float(v) for v in highlight.removeprefix("point:").split(","))
    assert abs(x - (COURTYARD[0] + 1)) < 1.5, highlight
    assert abs(y - (COURTYARD[1] + 0.5)) < 1.5, highlight
    save_screenshot(screen, "roundtable-cockpit-topic", docs=True)
    return screen


def residents_vote(loop: Loop) -> list[Page]:
    """Three households on phones; a second account of the first changes its ballot
    (one ballot, the last counts) and the first phone sees it; 29 more through the API."""
    site = loop.site
    phones = [vote_on_phone(loop, who) for who in PHONES]
    first = phones[0]
    first.locator("#opinion textarea[name=body]").fill("建议夜间也开放北门临时车位。")
    first.locator("#opinion button[type=submit]").click()
    expect(first.locator("#topic-opinions li")).to_have_count(1)
    spouse = join(site, "b01", "01-0401", "rt.wang2")
    ballot = f"{BASE}/votes/{loop.vid}/ballot"
    assert site.call("PUT", ballot, json={"choice": "no"}, headers=spouse).status_code == 200
    open_topic(first, loop.tid)
    vote = first.locator(f"#topic-votes .vote[data-vote='{loop.vid}']")
    expect(vote).to_have_attribute("data-my-choice", "no")
    vote.locator("button[data-choice=yes]").click()
    expect(vote).to_have_attribute("data-my-choice", "yes")
    expect(vote.locator(".mine")).to_contain_text("同意")
    save_screenshot(first, "roundtable-phone-vote", docs=True)
    # A household of the other grid is not concerned: the topic and the vote say so.
    outsider = join(site, "b06", "06-0201", "rt.outsider")
    topics = site.call("GET", f"{BASE}/topics", headers=outsider).json()["data"]
    assert [t["concerns_me"] for t in topics if t["id"] == loop.tid] == [False]
    seen = site.call("GET", f"{BASE}/votes/{loop.vid}", headers=outsider).json()
    assert (seen["concerns_me"], seen["my_choice"]) == (False, None)
    refused = site.call("PUT", ballot, json={"choice": "yes"}, headers=outsider)
    assert refused.status_code == 403, refused.text
    voted = {(b, u) for b, u, *_ in PHONES}
    homes = [(b, f"{b[1:]}-{s:02d}01") for b, n in ESTATE.items() for s in range(1, n + 1)]
    for n, (b, u) in enumerate([h for h in homes if h not in voted][:29]):
        headers = join(site, b, u, f"rt.r{n}")
        r = site.call("PUT", ballot, json={"choice": "yes" if n < 20 else "no"}, headers=headers)
        assert r.status_code == 200, r.text
    return phones


def the_office_counts(loop: Loop, office: Page) -> None:
    """Attendance and minutes; close and count (the rule and its figures); the minutes' PDF."""
    office.reload()
    expect(office.locator("body")).to_have_attribute("data-view", "office")
    table = office.locator(f"article.office-table[data-table='{loop.table_id}']")
    minutes = table.locator("form.minutes")
    for box in minutes.locator("input[type=checkbox]").all():
        box.check()
    minutes.locator("textarea[name=minutes]").fill(
        "与会各方同意在北门公共区域施划临时车位并安装道闸。"
    )
    minutes.locator("button[type=submit]").click()
    expect(table).to_have_attribute("data-status", "held")
    office.locator(f".vote[data-vote='{loop.vid}'] button.close-vote").click()
    result = office.locator(f".vote[data-vote='{loop.vid}'] .result")
    expect(result).to_have_attribute("data-passed", "true")
    expect(result).to_contain_text("civil-code-278-ordinary")
    expect(result).to_contain_text(f"{32 * AREA_M2} / {46 * AREA_M2} m²")  # took part, by area
    expect(result).to_contain_text("32 / 46")  # took part, by owners
    expect(result).to_contain_text("22 / 46")  # agreed: two phones and twenty
    counted = get(loop.site, f"/votes/{loop.vid}/result")
    assert (counted["participating_owners"], counted["yes_owners"]) == (32, 22)
    assert counted["passed"] is True
    href = str(table.locator("a.pdf").get_attribute("href"))
    pdf = office.request.get(f"{loop.site.base}{href}")
    assert pdf.status == 200
    assert pdf.body().startswith(b"%PDF")


def the_decision_is_followed(loop: Loop, office: Page) -> None:
    """Two action items, one due next week (then done), one already past due."""
    topic = office.locator(f"article.office-topic[data-topic='{loop.tid}']")
    topic.locator("details.decide-box > summary").click()
    decide = topic.locator("form.decide")
    decide.locator("textarea[name=body]").fill(
        "北门公共区域施划临时车位，安装道闸，占道停车纳入巡查。"
    )
    decide.locator("input[name=a0-title]").fill("施划临时车位")
    decide.locator("select[name=a0-owner]").select_option("property")
    decide.locator("input[name=a0-due]").fill(local(loop.now + timedelta(days=7)))
    decide.locator("input[name=a0-building]").fill("b01")
    decide.locator("input[name=a1-title]").fill("安装道闸并公示")
    decide.locator("select[name=a1-owner]").select_option("office")
    decide.locator("input[name=a1-due]").fill(local(loop.now - timedelta(days=1)))
    decide.locator("button[type=submit]").click()
    items = office.locator(f"article.office-topic[data-topic='{loop.tid}'] li.action-item")
    expect(items).to_have_count(2)
    marking = office.locator("li.action-item:has-text('施划临时车位')")
    marking.locator("button[data-to=done]").click()
    expect(office.locator("li.action-item:has-text('施划临时车位')")).to_have_attribute(
        "data-status", "done"
    )
    expect(office.locator("li.action-item:has-text('安装道闸')")).to_have_attribute(
        "data-overdue", "true"
    )
    office.locator(f".vote[data-vote='{loop.vid}']").scroll_into_view_if_needed()
    save_screenshot(office, "roundtable-office", docs=True)


def the_cockpit_shows_the_actions(screen: Page) -> None:
    """One done, one overdue, closed loop 50 %."""
    screen.reload()
    expect(screen.locator("#kpi-devices-total")).not_to_have_text("–", timeout=15_000)
    screen.locator("#scene-tabs button[data-scene=governance]").click()
    panel = screen.locator("#governance-panel")
    expect(panel.locator("li[data-status=done]")).to_have_count(1, timeout=15_000)
    expect(panel.locator("li[data-overdue=true]")).to_have_count(1)
    expect(panel.locator("#gov-rate")).to_have_text("50%")
    expect(panel.locator("#gov-overdue")).to_have_text("1")
    save_screenshot(screen, "roundtable-cockpit-actions", docs=True)


def the_phones_follow_the_decision(loop: Loop, phones: list[Page]) -> None:
    first = phones[0]
    open_topic(first, loop.tid)
    expect(first.locator("#topic-votes .result")).to_have_attribute("data-passed", "true")
    expect(first.locator("#topic-decisions li.action-item")).to_have_count(2)
    expect(first.locator("#topic-decisions li[data-status=done]")).to_have_count(1)
    expect(first.locator("#topic-decisions li[data-overdue=true]")).to_have_count(1)
    first.locator("#topic-decisions").scroll_into_view_if_needed()
    save_screenshot(first, "roundtable-phone-decision", docs=True)
    en = phones[2]
    open_topic(en, loop.tid)
    expect(en.locator("#topic-decisions li[data-overdue=true]")).to_contain_text("Overdue")


def test_a_confirmed_report_is_recorded_once_in_the_households_participation(
    people_site: PeopleSite,
) -> None:
    site = people_site
    site.worker("worker.rt", ["g1"])
    resident = join(site, "b05", "05-0301", "rt.confirm")
    r = site.call(
        "POST", "/v1/session", json={"community": CID, "login": "worker.rt", "password": PASSWORD}
    )
    assert r.status_code == 201, r.text
    cookies, csrf = session_of(r)
    worker = {**cookies, "X-CSRF-Token": csrf}
    report = {"client_id": "lamp-1", "category": "lighting", "description": "楼道灯不亮"}
    made = site.call("POST", "/v1/me/incidents", json=report, headers=resident)
    assert made.status_code == 201, made.text
    iid = made.json()["id"]
    actions = f"/v1/me/incidents/{iid}/actions"
    for n, step in enumerate(("accept", "resolve")):
        done = site.call(
            "POST", actions, json={"client_id": f"w-{n}", "action": step}, headers=worker
        )
        assert done.status_code == 201, done.text
    before = get(site, "/participation/kpi")["by_kind"].get("report_confirmed", 0)
    confirm = {"client_id": "confirm-1", "action": "confirm", "satisfaction": 5}
    assert site.call("POST", actions, json=confirm, headers=resident).status_code == 201
    assert get(site, "/participation/kpi")["by_kind"].get("report_confirmed") == before + 1
    again = site.call("POST", actions, json=confirm, headers=resident)  # a resend: same client id
    assert again.status_code == 200, again.text
    assert get(site, "/participation/kpi")["by_kind"].get("report_confirmed") == before + 1
    with psycopg.connect(site.database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT building_id, unit_id FROM participation WHERE community_id = %s AND kind ="
            " 'report_confirmed'",
            (CID,),
        ).fetchall()
    assert row == [("b05", "05-0301")]


def test_the_office_page_is_served_and_its_files_stay_in_their_folder(
    people_site: PeopleSite,
) -> None:
    site = people_site
    page = site.call("GET", f"/office/{CID}")
    assert page.status_code == 200
    assert "/office-assets/office.js" in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert site.call("GET", "/office/Not_A_Community!").status_code == 404
    script = site.call("GET", "/office-assets/forms.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    for bad in ("/office-assets/../app/main.js", "/office-assets/%2e%2e/app/main.js",
                "/office-assets/index.html", "/office-assets/nothing.js"):  # fmt: skip
        assert site.call("GET", bad).status_code == 404, bad
