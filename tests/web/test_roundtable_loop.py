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
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from playwright.sync_api import Page, expect

from tests.api.test_people_api import session_of
from tests.web.conftest import save_screenshot
from tests.web.people_site import (
    CID,
    PASSWORD,
    PeopleSite,
    people_site,
    playwright_and_browser,
)
from tests.web.roundtable_steps import (
    AREA_M2,
    BASE,
    COURTYARD,
    ESTATE,
    PHONES,
    Loop,
    cockpit,
    get,
    give_homes_their_areas,
    join,
    local,
    office_adopts_and_schedules,
    office_page,
    open_topic,
    six_parking_reports,
    vote_on_phone,
    wait_for,
)
from tests.web.test_people_page import Pw

pytestmark = pytest.mark.browser
__all__ = ["people_site", "playwright_and_browser"]  # fixtures used by this module


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
