"""Running blocking SDK calls (pybit, python-binance, hyperliquid) off the event loop, with a deadline.

The executor is bounded and shared: with many followers, threads are the scarce resource, so it is sized once
for the whole process. A call that misses its deadline is abandoned by the caller (the thread finishes in the
background); for an order placement that outcome is *ambiguous* and must be resolved by looking the order up.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class BlockingCallRunner:
    def __init__(self, max_workers: int = 64, thread_name_prefix: str = "sdk") -> None:
        if max_workers < 1:
            raise ValueError(f"max_workers must be >= 1, got {max_workers}")
        self.max_workers = max_workers
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=thread_name_prefix)

    async def call(self, timeout_s: float, fn: Callable[..., T], /, *args: object, **kwargs: object) -> T:
        """Run ``fn(*args, **kwargs)`` in the pool; raise ``TimeoutError`` after ``timeout_s`` seconds."""
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))
        return await asyncio.wait_for(future, timeout_s)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
