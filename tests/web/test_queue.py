from __future__ import annotations

import threading

import pytest

from dpst.web.queue import QueueFull, RunQueue


def test_first_come_first_served_and_each_told_how_many_are_ahead():
    q = RunQueue(1)
    a, b, c = q.enter(), q.enter(), q.enter()
    assert [q.ahead(t) for t in (a, b, c)] == [0, 1, 2]
    assert not q.wait_turn(b, timeout=0)  # a is first in line
    assert q.wait_turn(a, timeout=0) and q.ahead(a) == 0
    assert [q.ahead(b), q.ahead(c)] == [1, 2]  # a runs, b is next
    assert not q.wait_turn(b, timeout=0.01)
    q.leave(a)
    assert q.wait_turn(b, timeout=0) and q.ahead(c) == 1
    q.leave(b)
    q.leave(c)
    assert len(q) == 0


def test_a_run_that_gives_up_leaves_its_place():
    q = RunQueue(1)
    a, b, c = q.enter(), q.enter(), q.enter()
    q.wait_turn(a, timeout=0)
    q.leave(b)
    assert q.ahead(c) == 1
    with pytest.raises(ValueError, match="not in the queue"):
        q.ahead(b)


def test_a_waiting_run_wakes_when_the_slot_frees():
    q = RunQueue(1)
    a, b = q.enter(), q.enter()
    q.wait_turn(a, timeout=0)
    got = []
    waiter = threading.Thread(target=lambda: got.append(q.wait_turn(b, timeout=5)))
    waiter.start()
    q.leave(a)
    waiter.join(5)
    assert got == [True]


def test_two_slots_run_two_at_once():
    q = RunQueue(2)
    a, b, c = q.enter(), q.enter(), q.enter()
    assert q.wait_turn(a, timeout=0) and q.wait_turn(b, timeout=0)
    assert not q.wait_turn(c, timeout=0) and q.ahead(c) == 2
    with pytest.raises(ValueError, match="at least 1"):
        RunQueue(0)


def test_a_bounded_queue_refuses_a_run_over_its_limits_and_says_which():
    q = RunQueue(1, per_owner=1, most=3)
    a = q.enter("a")
    with pytest.raises(QueueFull, match="this page already has 1 run queued or running"):
        q.enter("a")
    q.enter("b")
    q.enter("c")
    with pytest.raises(QueueFull, match=r"the server's queue is full \(3 runs"):
        q.enter("d")
    q.leave(a)
    assert q.ahead(q.enter("a")) == 2  # a's place is free again, last in line
