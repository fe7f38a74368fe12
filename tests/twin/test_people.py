"""People's core: who may see what, invite codes, passwords, login throttling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import product

import pytest

from twin.people.invites import Invite, InviteError, digest, new_code, normalize, redeemable
from twin.people.passwords import (
    PasswordError,
    check_policy,
    hash_password,
    needs_rehash,
    verify_password,
)
from twin.people.roles import Household, Person, PersonError, Role
from twin.people.throttle import LoginThrottle
from twin.people.visibility import ReportScope, may_confirm, may_handle, may_see

HOME, NEIGHBOUR = Household("b01", "b01-0301"), Household("b01", "b01-0302")
NOW = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)


def people() -> dict[str, Person]:
    return {
        "resident": Person(1, "lanting", Role.RESIDENT, household=HOME),
        "neighbour": Person(2, "lanting", Role.RESIDENT, household=NEIGHBOUR),
        "worker g1": Person(3, "lanting", Role.WORKER, grids=frozenset({"g1"})),
        "worker g2": Person(4, "lanting", Role.WORKER, grids=frozenset({"g2"})),
        "property g1": Person(5, "lanting", Role.PROPERTY, grids=frozenset({"g1"})),
        "office": Person(6, "lanting", Role.OFFICE),
        "other office": Person(7, "xixi", Role.OFFICE),
        "other resident": Person(8, "xixi", Role.RESIDENT, household=HOME),  # same ids, other place
    }


def test_who_sees_a_residents_report_in_grid_g1() -> None:
    report = ReportScope("lanting", grid_id="g1", household=HOME)
    seen = {name for name, p in people().items() if may_see(p, report)}
    assert seen == {"resident", "worker g1", "property g1", "office"}
    handled = {name for name, p in people().items() if may_handle(p, report)}
    assert handled == {"worker g1", "property g1", "office"}
    confirmed = {name for name, p in people().items() if may_confirm(p, report)}
    assert confirmed == {"resident"}


def test_a_report_outside_every_grid_is_the_offices_alone() -> None:
    report = ReportScope("lanting", grid_id=None, household=None)
    assert {n for n, p in people().items() if may_see(p, report)} == {"office"}


def test_bindings_must_fit_the_role() -> None:
    for role, household, grids in product(Role, (None, HOME), (frozenset(), frozenset({"g1"}))):
        valid = {
            Role.RESIDENT: household is not None and not grids,
            Role.WORKER: household is None and bool(grids),
            Role.PROPERTY: household is None and bool(grids),
            Role.OFFICE: household is None and not grids,
        }[role]
        if valid:
            Person(1, "c", role, household=household, grids=grids)
        else:
            with pytest.raises(PersonError):
                Person(1, "c", role, household=household, grids=grids)


def test_invite_codes_are_random_and_forgiving_to_type() -> None:
    codes = {new_code() for _ in range(2000)}
    assert len(codes) == 2000
    code = codes.pop()
    assert digest(code.lower().replace("-", " ")) == digest(code)
    assert digest(code) != digest(new_code())
    for bad in ("", "0000-0000-000U", "0000-0000-00000", "ÄÄÄÄ-0000-0000"):
        with pytest.raises(InviteError):
            normalize(bad)


def test_an_invite_works_once_for_its_community_until_it_expires() -> None:
    invite = Invite("lanting", HOME, NOW + timedelta(days=14))
    assert redeemable(invite, "lanting", NOW) == HOME
    reasons = []
    for inv, community, now in (
        (None, "lanting", NOW),
        (invite, "xixi", NOW),
        (Invite("lanting", HOME, invite.expires_at, used_at=NOW), "lanting", NOW),
        (invite, "lanting", invite.expires_at),
    ):
        with pytest.raises(InviteError) as caught:
            redeemable(inv, community, now)
        reasons.append(str(caught.value))
    assert reasons[0] == reasons[1] == "no such invite code"  # no per-community oracle
    assert "already been used" in reasons[2]
    assert "expired" in reasons[3]


def test_passwords_are_argon2id_salted_and_checked() -> None:
    one, two = hash_password("a long passphrase"), hash_password("a long passphrase")
    assert one.startswith("$argon2id$")
    assert one != two
    assert verify_password(one, "a long passphrase")
    assert verify_password(two, "a long passphrase")
    assert not verify_password(one, "a long passphrasE")
    assert not verify_password(None, "a long passphrase")  # no such account
    assert not needs_rehash(one)
    for password, reason in (
        ("123456789", "at least 10"),
        ("wang.lei-2026!", "login"),
        ("aaaaabbbbbaaaaa", "4 different"),
        ("x" * 300, "at most"),
    ):
        with pytest.raises(PasswordError, match=reason):
            check_policy(password, login="wang.lei")
    check_policy("plum blossom 17", login="wang.lei")


def test_brute_force_is_slowed_per_key_and_memory_stays_bounded() -> None:
    throttle = LoginThrottle(free_failures=5, base_delay_s=1.0, max_delay_s=60.0, capacity=100)
    now = 0.0
    for _ in range(5):
        assert throttle.wait_s("address:10.0.0.9", now) == 0.0
        throttle.failed("address:10.0.0.9", now)
    waits = []
    for _ in range(8):
        waits.append(throttle.wait_s("address:10.0.0.9", now))
        now += waits[-1]
        throttle.failed("address:10.0.0.9", now)
    assert waits == [0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0]  # the 6th try is free
    assert throttle.wait_s("address:10.0.0.10", now) == 0.0  # other keys unaffected
    for i in range(500):
        throttle.failed(f"address:{i}", now)
    assert len(throttle) == 100
