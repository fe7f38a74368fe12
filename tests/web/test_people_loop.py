"""The loop closed by people on their phones, end to end (issue 22's "done when").

A resident reports with a photo on the phone page → the ingestor stores it and
the cockpit's API shows it on the right building → a grid worker accepts and
resolves it with a photo → the resident, told by ``/v1/me/stream``, confirms
and rates → the closed-loop and satisfaction KPIs move. In zh and in en, and
once with the worker's network cut while resolving: the action waits in the
phone's queue and lands exactly once when the network is back.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import ConsoleLog, save_screenshot
from tests.web.people_site import (
    CID,
    PASSWORD,
    PeopleSite,
    people_site,
    phone,
    photo_file,
    playwright_and_browser,
)
from tests.web.seed import BUILDINGS
from tests.web.test_people_page import Pw

pytestmark = pytest.mark.browser
__all__ = ["people_site", "playwright_and_browser"]  # fixtures used by this module

TEXTS = {
    "zh": {"join": "邀请码注册", "submit": "提交", "accept": "接单", "resolve": "办结"},
    "en": {"join": "Join with a code", "submit": "Send", "accept": "Accept", "resolve": "Resolve"},
}
BUILDING_NAMES = {b.id: b.name for b in BUILDINGS}
# Errors a page logs while its network is cut on purpose.
OFFLINE_NOISE = ("ERR_INTERNET_DISCONNECTED", "ERR_NETWORK_CHANGED", "/v1/me/stream")


def open_phone(pw: Pw, site: PeopleSite, lang: str) -> tuple[Page, ConsoleLog]:
    page, log = phone(pw, "zh-CN" if lang == "zh" else "en-GB")
    page.goto(site.page_url())
    expect(page.locator("body")).to_have_attribute("data-view", "auth")
    if lang == "en":
        page.locator("#lang").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
    return page, log


def join(page: Page, code: str, login: str, lang: str) -> None:
    page.get_by_role("tab", name=TEXTS[lang]["join"]).click()
    form = page.locator("#join")
    form.locator("input[name=code]").fill(code)
    form.locator("input[name=login]").fill(login)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    expect(page.locator("body")).to_have_attribute("data-view", "resident")


def sign_in(page: Page, login: str) -> None:
    form = page.locator("#signin")
    form.locator("input[name=login]").fill(login)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    expect(page.locator("body")).to_have_attribute("data-view", "worker")


def photos_of(page: Page, iid: str) -> list[dict[str, Any]]:
    """The incident's photos as this phone's session may read them."""
    body: Any = page.evaluate(
        "async id => (await fetch(`/v1/me/incidents/${id}/photos`)).json()", iid
    )
    data = body if isinstance(body, list) else body["data"]
    return list(data)


def report(page: Page, lang: str, photo: Path, text: str) -> str:
    """Report with one photo at home; the new incident's id once the queue is empty."""
    form = page.locator("#report")
    form.locator("select[name=category]").select_option("lighting")
    form.locator("textarea[name=description]").fill(text)
    form.locator("#report-photos").set_input_files(photo)
    form.get_by_role("button", name=TEXTS[lang]["submit"]).click()
    mine = page.locator("#my-reports li.incident")
    expect(mine).to_have_count(1, timeout=15_000)
    expect(page.locator("body")).to_have_attribute("data-pending", "0", timeout=15_000)
    return str(mine.first.get_attribute("data-incident"))


def kpis(site: PeopleSite) -> dict[str, Any]:
    found: dict[str, Any] = site.live()["kpis"]
    return found


@dataclass(frozen=True)
class Case:
    lang: str
    offline: bool  # the worker's network is cut while resolving
    building: str  # the resident's home
    unit: str
    storey: int

    @property
    def tag(self) -> str:
        return f"{self.lang}{'-off' if self.offline else ''}"


CASES = [
    Case("zh", False, "b01", "01-0401", 4),
    Case("en", False, "b04", "04-0201", 2),
    Case("zh", True, "b05", "05-0601", 6),
]


def worker_handles(worker: Page, site: PeopleSite, case: Case, iid: str, tmp: Path) -> None:
    """Accept, then resolve with a photo (with the network cut, if the case says so)."""
    lang = case.lang
    sign_in(worker, f"worker.{case.tag}")
    worker.locator(f"#tasks li.incident[data-incident='{iid}'] button").click()
    expect(worker.locator("#detail-photos img")).to_have_count(1)
    worker.get_by_role("button", name=TEXTS[lang]["accept"], exact=True).click()
    body = worker.locator("body")
    expect(body).to_have_attribute("data-detail-status", "accepted", timeout=15_000)
    worker.locator("#act-photo").set_input_files(photo_file(tmp, "fixed.png"))
    if case.offline:
        worker.context.set_offline(True)
    worker.get_by_role("button", name=TEXTS[lang]["resolve"], exact=True).click()
    if case.offline:
        # Kept on the phone (photo + resolve), shown as waiting, nothing sent.
        expect(body).to_have_attribute("data-pending", "2")
        expect(worker.locator("#queue")).to_be_visible()
        expect(worker.locator("#queue-list li")).to_have_count(2)
        worker.wait_for_timeout(1500)
        assert "resolved" not in site.event_types(iid)
        save_screenshot(worker, "people-worker-offline", docs=True)
        worker.context.set_offline(False)
    expect(body).to_have_attribute("data-pending", "0", timeout=20_000)
    expect(body).to_have_attribute("data-detail-status", "resolved", timeout=15_000)
    assert site.event_types(iid).count("resolved") == 1
    assert len(photos_of(worker, iid)) == 2


def resident_confirms(resident: Page, case: Case, iid: str) -> None:
    """Told by the stream (no reload), the resident opens it, rates 4 and confirms."""
    card = resident.locator(f"#my-reports li.incident[data-incident='{iid}']")
    expect(card).to_have_attribute("data-status", "resolved", timeout=15_000)
    assert iid in resident.evaluate("window.commtwinApp.heard")  # pushed, not polled
    card.locator("button").click()
    expect(resident.locator("#detail-photos img")).to_have_count(2)
    resident.locator(".rating input[value='4']").check()
    resident.locator("#actions [data-action=confirm]").click()
    expect(resident.locator("body")).to_have_attribute(
        "data-detail-status", "closed", timeout=15_000
    )
    if case.lang == "zh" and not case.offline:
        save_screenshot(resident, "people-resident", docs=True)


@pytest.mark.parametrize("case", CASES, ids=[c.tag for c in CASES])
def test_a_report_goes_round_the_loop_on_two_phones(
    people_site: PeopleSite, playwright_and_browser: Pw, tmp_path: Path, case: Case
) -> None:
    site = people_site
    site.worker(f"worker.{case.tag}", ["g1"])
    before, rated_before = kpis(site), site.satisfaction()
    resident, resident_log = open_phone(playwright_and_browser, site, case.lang)
    worker, worker_log = open_phone(playwright_and_browser, site, case.lang)
    try:
        # 1. The resident reports with a photo, placed at home by default.
        join(resident, site.invite(case.building, case.unit), f"resident.{case.tag}", case.lang)
        iid = report(resident, case.lang, photo_file(tmp_path, "leak.png"), f"灯不亮 {case.tag}")
        assert len(photos_of(resident, iid)) == 1

        # 2. The cockpit's API has it on the right building (its key, its /live).
        seen = site.incident(iid)
        assert (seen["building"], seen["storey"], seen["unit"]) == (
            case.building,
            case.storey,
            case.unit,
        )
        assert seen["grid"] == "g1"
        shown = {i["id"]: i for i in site.live()["incidents"]}
        assert shown[iid]["building"] == case.building
        place = f"{BUILDING_NAMES[case.building]} · {case.storey}F · {case.unit}"
        cockpit_shows_the_report(playwright_and_browser, site, iid, case.lang, place)

        # 3. and 4. The worker accepts and resolves; the resident confirms and rates.
        worker_handles(worker, site, case, iid, tmp_path)
        resident_confirms(resident, case, iid)

        # 5. Exactly one of each step was stored; the KPIs moved.
        types = site.event_types(iid)
        for step in ("reported", "accepted", "resolved", "closed"):
            assert types.count(step) == 1, types
        assert site.incident(iid)["satisfaction"] == 4
        after = kpis(site)
        assert_closed_loop_moved(before["closed_loop_rate_today"], after["closed_loop_rate_today"])
        assert_satisfaction_moved(rated_before, site.satisfaction())

        # 6. The resident deletes the photo they took; the worker's stays.
        if case.lang == "en" and not case.offline:
            resident_deletes_their_photo(resident, iid)
    finally:
        resident.context.close()
        worker.context.close()
    assert resident_log.errors == []
    noise = OFFLINE_NOISE if case.offline else ()
    assert [e for e in worker_log.errors if not any(n in e for n in noise)] == []


def resident_deletes_their_photo(resident: Page, iid: str) -> None:
    """Only their own photo has a delete button; nothing happens until confirmed."""
    delete = resident.locator("#detail-photos [data-delete-photo]")
    expect(delete).to_have_count(1)
    resident.once("dialog", lambda dialog: dialog.dismiss())
    delete.click()
    assert len(photos_of(resident, iid)) == 2
    resident.once("dialog", lambda dialog: dialog.accept())
    delete.click()
    expect(resident.locator("#detail-photos img")).to_have_count(1, timeout=10_000)
    expect(delete).to_have_count(0)
    assert [p["stage"] for p in photos_of(resident, iid)] == ["work"]


def cockpit_shows_the_report(pw: Pw, site: PeopleSite, iid: str, lang: str, place: str) -> None:
    """The big screen lists the report at its building, storey and unit, and,
    opened, shows the resident's photo."""
    _, browser = pw
    context = browser.new_context(viewport={"width": 1600, "height": 900})
    try:
        page = context.new_page()
        key = site.reader["Authorization"].removeprefix("Bearer ")
        page.goto(f"{site.base}/cockpit/{CID}?key={key}&lang={lang}")
        item = page.locator(f"#incident-list li[data-incident='{iid}']")
        expect(item).to_be_visible(timeout=15_000)
        expect(item).to_contain_text(place)
        item.click()
        thumbs = page.locator("#side-body .photo-row[data-stage=report] img.photo-thumb")
        expect(thumbs).to_have_count(1, timeout=10_000)
        # The thumbnail really is an image (its bytes came with the key), not a broken link.
        assert thumbs.first.evaluate("img => img.complete && img.naturalWidth > 0")
    finally:
        context.close()


def assert_closed_loop_moved(before: float | None, after: float | None) -> None:
    """Today's closed-loop rate counts the closed report: above what it was, or
    from nothing (None: no report yet today, as just after midnight) to above 0."""
    assert after is not None, (before, after)
    assert after > 0, (before, after)
    if before is not None and before < 1:
        assert after > before, (before, after)


def assert_satisfaction_moved(before: dict[str, Any], after: dict[str, Any]) -> None:
    """One more rating today and over 30 days, and in grid g1."""
    assert after["today"]["count"] == before["today"]["count"] + 1, (before, after)
    assert after["last_30_days"]["count"] == before["last_30_days"]["count"] + 1
    g1 = {g["key"]: g["count"] for g in before["by_grid"]}.get("g1", 0)
    assert {g["key"]: g["count"] for g in after["by_grid"]}["g1"] == g1 + 1
