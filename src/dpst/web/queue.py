"""Runs one at a time (``slots`` at a time), first come first served, each waiting run told its place.

On a CPU two runs at once would each take twice as long and need twice the memory; queued, the
first result comes as soon as it can, and every waiting session sees how many runs are ahead of its
own (:meth:`RunQueue.ahead`).  A queue may be bounded: at most ``per_owner`` runs of one session and
``most`` in all, queued or running; a run over either is refused (:class:`QueueFull`) with words for
the page.
"""

from __future__ import annotations

import itertools
import threading


class QueueFull(ValueError):
    """A run refused because the queue is at one of its limits; the message says which."""


class RunQueue:
    """A first-come-first-served gate for runs.

    ``enter`` hands out a ticket; ``wait_turn(ticket)`` blocks until at most ``slots - 1`` other
    runs hold a slot and no earlier ticket is still waiting; ``leave`` frees the slot (or the place in
    line).  A waiting run that gives up (Stop, or its session ended) leaves without running."""

    def __init__(self, slots: int = 1, per_owner: int | None = None, most: int | None = None) -> None:
        if slots < 1:
            raise ValueError(f"slots {slots}: at least 1 run must be able to go")
        self.slots, self.per_owner, self.most = slots, per_owner, most
        self._waiting: list[int] = []  # tickets in line, oldest first
        self._running: set[int] = set()
        self._owners: dict[int, str] = {}  # ticket -> whose run (a session id)
        self._tickets = itertools.count(1)
        self._cond = threading.Condition()

    def enter(self, owner: str = "") -> int:
        """A ticket for a run of ``owner``, last in line; QueueFull when the queue is at a limit."""
        with self._cond:
            held = len(self._running) + len(self._waiting)
            if self.most is not None and held >= self.most:
                raise QueueFull(
                    f"the server's queue is full ({held} runs queued or running, its limit); "
                    "try again in a few minutes"
                )
            mine = sum(1 for o in self._owners.values() if o == owner)
            if self.per_owner is not None and mine >= self.per_owner:
                runs = f"{mine} run{'s' if mine != 1 else ''}"
                raise QueueFull(
                    f"this page already has {runs} queued or running (the server's limit for a page); "
                    "wait for it to finish, or Stop it"
                )
            ticket = next(self._tickets)
            self._waiting.append(ticket)
            self._owners[ticket] = owner
            self._cond.notify_all()
            return ticket

    def ahead(self, ticket: int) -> int:
        """How many runs go before this one: those running and those earlier in line; 0 once it runs."""
        with self._cond:
            if ticket in self._running:
                return 0
            if ticket not in self._waiting:
                raise ValueError(f"ticket {ticket} is not in the queue")
            return len(self._running) + self._waiting.index(ticket)

    def _may_start(self, ticket: int) -> bool:
        free = self.slots - len(self._running)
        return ticket in self._waiting[: max(free, 0)]

    def wait_turn(self, ticket: int, timeout: float | None = None) -> bool:
        """Block until this ticket's run may start (True, and it now holds a slot) or ``timeout``
        seconds pass (False)."""
        with self._cond:
            if ticket in self._running:
                return True
            if not self._cond.wait_for(lambda: self._may_start(ticket), timeout):
                return False
            self._waiting.remove(ticket)
            self._running.add(ticket)
            self._cond.notify_all()
            return True

    def leave(self, ticket: int) -> None:
        """Free the ticket's slot, or its place in line."""
        with self._cond:
            self._running.discard(ticket)
            if ticket in self._waiting:
                self._waiting.remove(ticket)
            self._owners.pop(ticket, None)
            self._cond.notify_all()

    def __len__(self) -> int:
        """Runs running or waiting."""
        with self._cond:
            return len(self._running) + len(self._waiting)
