"""Argon2id work off the event loop, one derivation at a time, at a lower CPU priority.

A derivation at production cost takes 64 MiB and a whole core for a fraction of a second.
On the event loop it stalls every source; in an ordinary thread it still competes for the
loop's core. So every derivation the relay makes (its key ring at start-up and after a
rotation, recovery phrases at onboarding and /recover) runs in one dedicated worker thread
whose scheduling priority is lowered: the loop always wins the CPU. One thread also means
one derivation at a time, which matters beyond memory: two multi-lane Argon2id derivations
running at once in one process have been seen to hang forever (cryptography 50, OpenSSL).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

NICENESS = 10


def _lower_priority() -> None:
    # Linux keeps a nice value per thread; threads OpenSSL starts from here inherit it.
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)


_WORKER = ThreadPoolExecutor(
    max_workers=1, thread_name_prefix="writein-argon2", initializer=_lower_priority
)


async def argon2_work(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run ``fn`` (an Argon2id derivation) on the worker thread and await its result."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_WORKER, lambda: fn(*args, **kwargs))
