"""A round table's minutes and its votes' results as a printable A4 PDF in Chinese.

ReportLab's CID font ``STSong-Light`` (one of the Adobe Asian fonts every PDF
reader carries) needs no font file on the server, and its text reads back as
Unicode (tests/api/test_roundtable_api.py parses it with pypdf).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

LEVELS = {
    "community": "社区大圆桌",
    "estate": "小区小圆桌",
    "building": "楼道圆桌",
    "online": "线上圆桌",
}
ROLES = {
    "office": "社区居委会",
    "property": "物业服务企业",
    "owners_committee": "业主委员会",
    "residents_rep": "居民代表",
    "department": "相关部门",
    "resident": "居民",
}
STATUS = {"scheduled": "待召开", "held": "已召开", "cancelled": "已取消"}

_BODY = ParagraphStyle("zh", fontName=FONT, fontSize=10.5, leading=16, wordWrap="CJK")
_TITLE = ParagraphStyle("zh-title", parent=_BODY, fontSize=16, leading=24, spaceAfter=6)
_HEAD = ParagraphStyle("zh-head", parent=_BODY, fontSize=12.5, leading=20, spaceBefore=8)


def printable(text: str) -> str:
    r"""What the font can print: BMP characters only (UCS-2), no controls but line breaks.

    >>> printable("a\x01b\r\nc\U0001f600\ud800")
    'ab\nc??'
    """
    text = text.replace("\r\n", "\n")
    return "".join(
        "?" if ord(ch) > 0xFFFF or 0xD800 <= ord(ch) < 0xE000 else ch
        for ch in text
        if ch == "\n" or ord(ch) >= 0x20
    )


def _p(text: str, style: ParagraphStyle = _BODY) -> Paragraph:
    return Paragraph(escape(printable(text)).replace("\n", "<br/>"), style)


def _when(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M %Z").strip()


def _result_lines(v: dict[str, Any]) -> list[str]:
    r = v["result"]
    if r is None:
        return [f"表决 {v['id']}（{v['topic_title']}）：未结束，截止 {_when(v['closes_at'])}"]
    verdict = (
        "通过"
        if r["passed"]
        else ("参与人数或面积不足，未通过" if not r["participation_met"] else "未通过")
    )
    return [
        f"表决 {v['id']}（{v['topic_title']}）：{verdict}",
        f"计票规则：{r['rule_name']}（{r['rule_id']}）；依据：{r['source']}",
        f"专有部分总面积 {r['total_area']} 平方米，业主总人数 {r['total_owners']}；"
        f"参与表决面积 {r['participating_area']} 平方米，参与表决人数 {r['participating_owners']}；"
        f"同意面积 {r['yes_area']} 平方米，同意人数 {r['yes_owners']}；"
        f"反对面积 {r['no_area']} 平方米，反对人数 {r['no_owners']}。",
    ]


def minutes_pdf(
    table: dict[str, Any], topics: Sequence[dict[str, Any]], votes: Sequence[dict[str, Any]]
) -> bytes:
    """The PDF's bytes: heading, time and place, attendance, agenda, minutes, results."""
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=f"民情圆桌会会议纪要 {printable(table['title'])}",
        author="commtwin",
    )
    story: list[Any] = [
        _p(f"民情圆桌会会议纪要：{table['title']}", _TITLE),
        _p(f"类型：{LEVELS.get(table['level'], table['level'])}"),
        _p(f"状态：{STATUS.get(table['status'], table['status'])}"),
        _p(f"时间：{_when(table['starts_at'])}　地点：{table['location'] or '—'}"),
        _p("参会人员", _HEAD),
    ]
    for person in table["participants"] or []:
        came = {True: "出席", False: "缺席", None: "未记录"}[person["attended"]]
        story.append(_p(f"{ROLES.get(person['role'], person['role'])}：{person['name']}（{came}）"))
    story.append(_p("议程", _HEAD))
    for n, topic in enumerate(topics, start=1):
        story.append(_p(f"{n}. {topic['title']}"))
        story.append(_p(topic["body"]))
    story += [_p("会议记录", _HEAD), _p(table["minutes"] or "（尚无记录）"), _p("表决结果", _HEAD)]
    for vote in votes:
        story += [_p(line) for line in _result_lines(vote)]
        story.append(Spacer(1, 4))
    if not votes:
        story.append(_p("本次会议无表决。"))
    doc.build(story)
    return out.getvalue()
