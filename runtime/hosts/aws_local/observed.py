"""The engine observers (counters, the live view's board, the demo's outcome recorder) on the AWS wiring.

On AWS the executor runs inside a Lambda and nobody watches it in-process; locally the demo and the tests want the
same ``EngineObserver`` calls the local host makes. ``ObservedAwsServices`` is ``AwsServices`` whose executor
reports each job to an observer. The executor runs on the services' own loop thread, so ``LoopBridge`` hands each
call over to the host's event loop, where the observers live (they are not thread-safe, and the order of calls is
kept).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from runtime.domain.events import MasterPositionChanged
from runtime.hosts.aws import AwsOverrides, AwsServices
from runtime.hosts.aws_settings import AwsSettings
from runtime.services.executor import ExecutorSettings, FollowerExecutor
from runtime.services.jobs import FollowerJob, JobOutcome
from runtime.services.observers import EngineObserver


class LoopBridge(EngineObserver):
    """Forwards every observer call to ``target`` on ``loop`` (directly when already on that loop's thread)."""

    def __init__(self, target: EngineObserver, loop: asyncio.AbstractEventLoop) -> None:
        self._target = target
        self._loop = loop
        self._loop_thread: int | None = None
        loop.call_soon_threadsafe(self._remember_thread)

    def _remember_thread(self) -> None:
        self._loop_thread = threading.get_ident()

    def _call(self, method: Callable[..., None], *args: Any) -> None:
        if threading.get_ident() == self._loop_thread:
            method(*args)
        elif not self._loop.is_closed():
            self._loop.call_soon_threadsafe(method, *args)

    def master_change(self, change: MasterPositionChanged, applied: bool) -> None:
        self._call(self._target.master_change, change, applied)

    def job_queued(self, job: FollowerJob) -> None:
        self._call(self._target.job_queued, job)

    def job_started(self, job: FollowerJob) -> None:
        self._call(self._target.job_started, job)

    def job_finished(self, job: FollowerJob, outcome: JobOutcome) -> None:
        self._call(self._target.job_finished, job, outcome)

    def job_failed(self, job: FollowerJob, error: BaseException) -> None:
        self._call(self._target.job_failed, job, error)


class ObservedExecutor(FollowerExecutor):
    """A ``FollowerExecutor`` that tells ``observer`` when each job starts and how it ended."""

    def __init__(self, *args: Any, observer: EngineObserver, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._observer = observer

    async def execute(self, job: FollowerJob) -> JobOutcome:
        self._observer.job_started(job)
        try:
            outcome = await super().execute(job)
        except BaseException as exc:
            self._observer.job_failed(job, exc)
            raise
        self._observer.job_finished(job, outcome)
        return outcome


class ObservedAwsServices(AwsServices):
    """``AwsServices`` whose executor is an ``ObservedExecutor`` (built with the same pieces as the base class's)."""

    def __init__(
        self,
        settings: AwsSettings,
        overrides: AwsOverrides | None,
        observer: EngineObserver,
        executor_settings: ExecutorSettings | None = None,
    ) -> None:
        super().__init__(settings, overrides)
        self.observer = observer
        self._executor_settings = executor_settings or ExecutorSettings()
        self._observed: ObservedExecutor | None = None
        self._observed_lock = threading.Lock()

    def executor(self) -> FollowerExecutor:
        with self._observed_lock:
            if self._observed is None:
                self._observed = ObservedExecutor(
                    self.store,
                    (),
                    master_id=self.settings.master_id,
                    symbol_map=self.symbol_map,
                    gate=self.gate,
                    settings=self._executor_settings,
                    observer=self.observer,
                )
            return self._observed
