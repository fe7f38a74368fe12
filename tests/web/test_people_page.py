"""The phone page (``/app/{cid}``) at a phone viewport, on the real API and ingestor.

Signing in and joining, the worker's tasks by SLA with their place on the
map, the resident's report form, zh and en.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Playwright, Route, expect

from tests.web.conftest import ConsoleLog, save_screenshot
from tests.web.people_site import (
    PASSWORD,
    PeopleSite,
    people_site,
    phone,
    playwright_and_browser,
)

pytestmark = pytest.mark.browser
__all__ = ["people_site", "playwright_and_browser"]  # fixtures used by this module

Pw = tuple[Playwright, Browser]


@pytest.fixture
def zh_phone(playwright_and_browser: Pw) -> Iterator[tuple[Page, ConsoleLog]]:
    page, log = phone(playwright_and_browser, "zh-CN")
    yield page, log
    page.context.close()


def sign_in(page: Page, login: str) -> None:
    form = page.locator("#signin")
    form.locator("input[name=login]").fill(login)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()


def test_a_worker_sees_the_tasks_of_their_grid_by_sla_with_the_place_on_the_map(
    people_site: PeopleSite, zh_phone: tuple[Page, ConsoleLog]
) -> None:
    page, log = zh_phone
    people_site.worker("zhang.wei", ["g1"])
    page.goto(people_site.page_url())
    expect(page.locator("body")).to_have_attribute("data-view", "auth")
    expect(page.get_by_role("tab", name="登录")).to_be_visible()
    sign_in(page, "zhang.wei")
    expect(page.locator("body")).to_have_attribute("data-view", "worker")
    tasks = page.locator("#tasks li.incident")
    # The seed's open incidents of grid g1: r-2 (4 h overdue) before r-1 (due in 10 min).
    expect(tasks).to_have_count(2)
    assert tasks.evaluate_all("xs => xs.map(x => x.dataset.incident)") == ["r-2", "r-1"]
    expect(tasks.first.locator(".sla")).to_have_class("sla overdue")
    expect(tasks.first).to_contain_text("水管漏水")
    expect(tasks.first).to_contain_text("5幢 · 7层")
    tasks.first.locator("button").click()
    expect(page.locator("body")).to_have_attribute("data-view", "detail")
    expect(page.locator("#detail-map path.building.picked")).to_have_attribute(
        "data-building", "b05"
    )
    expect(page.locator("#actions [data-action=resolve]")).to_have_text("办结")
    timeline = page.locator("#timeline li")
    expect(timeline.first).to_contain_text("上报")
    assert timeline.evaluate_all("xs => xs.map(x => x.dataset.event)")[:3] == [
        "reported",
        "dispatched",
        "accepted",
    ]
    save_screenshot(page, "people-worker-task")
    assert page.evaluate("innerWidth") == 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing sideways
    page.get_by_role("button", name="EN").click()
    expect(page.locator("#actions [data-action=resolve]")).to_have_text("Resolve")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("button", name="Back").click()
    expect(page.locator("body")).to_have_attribute("data-view", "worker")
    assert log.errors == []


def test_a_resident_joins_with_a_code_and_the_form_defaults_to_their_home(
    people_site: PeopleSite, zh_phone: tuple[Page, ConsoleLog]
) -> None:
    page, log = zh_phone
    code = people_site.invite("b02", "02-0301")
    page.goto(people_site.page_url())
    page.get_by_role("tab", name="邀请码注册").click()
    form = page.locator("#join")
    form.get_by_label("邀请码").fill(code)
    form.get_by_label("用户名").fill("wang.fang")
    form.get_by_label("密码").fill(PASSWORD)
    form.get_by_role("button", name="注册并登录").click()
    expect(page.locator("body")).to_have_attribute("data-view", "resident")
    expect(page.locator("#home-name")).to_have_text("(2幢 0301)")
    expect(page.locator("#who")).to_contain_text("wang.fang · 居民")
    # Picking on the map: a building, then open ground (a public area).
    page.get_by_label("在地图上选择（楼栋或公共区域）").check()
    page.locator("#report-map path[data-building=b03]").click()
    expect(page.locator("#picked")).to_have_text("已选：3幢")
    expect(page.locator("#storey-field")).to_be_visible()
    box = page.locator("#report-map").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 8, box["y"] + box["height"] / 2)
    expect(page.locator("#picked")).to_have_text("已选：公共区域")
    expect(page.locator("#report-map circle.point")).to_have_count(1)
    # A reload keeps the session (cookie + stored CSRF token).
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-view", "resident")
    # Signed out only once the page has loaded what it asks for (its reports,
    # the round table's topics): a request still out then answers 401, which
    # the browser logs as an error.
    expect(page.locator("body")).to_have_attribute("data-loaded", re.compile(r"^\d+$"))
    save_screenshot(page, "people-resident-form")
    page.get_by_role("button", name="退出").click()
    expect(page.locator("body")).to_have_attribute("data-view", "auth")
    assert log.errors == []


def test_a_resend_the_server_already_had_is_taken_as_done_and_stored_once(
    people_site: PeopleSite, zh_phone: tuple[Page, ConsoleLog]
) -> None:
    """The note reaches the server but its answer is lost: the phone keeps it,
    resends the same client id, the server answers 200, the queue empties."""
    page, log = zh_phone
    people_site.worker("li.qiang", ["g1"])
    page.goto(people_site.page_url())
    sign_in(page, "li.qiang")
    page.locator("#tasks li.incident[data-incident='r-1'] button").click()
    expect(page.locator("body")).to_have_attribute("data-detail", "r-1")
    answers: list[int] = []

    def lose_the_answer(route: Route) -> None:
        answers.append(route.fetch().status)  # the server gets it and answers...
        route.abort("connectionreset")  # ...but the phone never hears

    page.route("**/v1/me/incidents/r-1/actions", lose_the_answer)
    note = "门禁已检查 resend"
    page.locator("#act-note").fill(note)
    page.locator("#actions [data-action=note]").click()
    for _ in range(150):  # the route handler runs on Playwright's side
        if answers:
            break
        page.wait_for_timeout(100)
    assert answers == [201]
    expect(page.locator("#queue-list li[data-kind=action]")).to_have_count(1)
    assert people_site.events_with_note("r-1", note) == 1
    page.unroute("**/v1/me/incidents/r-1/actions")
    replies: list[int] = []
    page.on("response", lambda r: replies.append(r.status) if r.url.endswith("/actions") else None)
    page.evaluate("dispatchEvent(new Event('online'))")  # as when the network comes back
    expect(page.locator("body")).to_have_attribute("data-pending", "0", timeout=20_000)
    assert replies == [200]  # a duplicate of what the server had
    assert people_site.events_with_note("r-1", note) == 1
    assert [e for e in log.errors if "ERR_CONNECTION_RESET" not in e] == []
