"""Plausible Chinese names for grid workers and residents, with pinyin ids.

>>> import random
>>> p = person(random.Random(1))
>>> p.name[0] in "".join(s for s, _ in SURNAMES), p.pinyin.isascii()
(True, True)
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# The most common surnames in Zhejiang, with their pinyin.
SURNAMES: tuple[tuple[str, str], ...] = (
    ("张", "zhang"),
    ("王", "wang"),
    ("李", "li"),
    ("陈", "chen"),
    ("刘", "liu"),
    ("杨", "yang"),
    ("黄", "huang"),
    ("吴", "wu"),
    ("周", "zhou"),
    ("徐", "xu"),
    ("孙", "sun"),
    ("朱", "zhu"),
    ("胡", "hu"),
    ("沈", "shen"),
    ("金", "jin"),
    ("钱", "qian"),
    ("郑", "zheng"),
    ("俞", "yu"),
    ("潘", "pan"),
    ("蒋", "jiang"),
)
GIVEN: tuple[str, ...] = (
    "伟",
    "芳",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "霞",
    "平",
    "刚",
    "建华",
    "晓东",
    "秀英",
    "海燕",
    "志强",
    "丽华",
    "国平",
    "雪梅",
    "建国",
)


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    pinyin: str


def person(rng: random.Random) -> Person:
    surname, pinyin = rng.choice(SURNAMES)
    return Person(surname + rng.choice(GIVEN), pinyin)


def workers(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """``count`` distinct (worker id, name) pairs like ``("w-zhang", "张伟")``."""
    out: list[tuple[str, str]] = []
    used: set[str] = set()
    while len(out) < count:
        p = person(rng)
        wid = f"w-{p.pinyin}"
        n = 2
        while wid in used:
            wid = f"w-{p.pinyin}{n}"
            n += 1
        used.add(wid)
        out.append((wid, p.name))
    return out
