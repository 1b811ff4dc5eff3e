"""Where a sweep's work runs: in this process, a local process pool, or a Dask cluster.

Every executor maps a picklable top-level function over a list of jobs and yields
the results as they complete (in any order: the runner stores each row by its id, so
order never changes a row). ``InlineExecutor`` runs in the calling process (one
worker), ``PoolExecutor`` in ``workers`` processes started with ``spawn`` (no inherited
threads or state; they ignore Ctrl-C, which the parent handles), ``DaskExecutor`` on
the workers of a ``dask.distributed`` scheduler (``pip install 'epur[dask]'``).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from importlib import import_module
from types import TracebackType
from typing import Any, Protocol, TypeVar

from epur.errors import ConfigError

__all__ = [
    "DaskExecutor",
    "Executor",
    "InlineExecutor",
    "PoolExecutor",
    "available_workers",
    "make_executor",
]

T = TypeVar("T")
R = TypeVar("R")
MAX_WORKERS = 1024


class Executor(Protocol):
    """Runs jobs; a context manager that releases its workers."""

    workers: int

    def map(self, fn: Callable[[T], R], jobs: Sequence[T]) -> Iterator[R]: ...

    def close(self) -> None: ...

    def __enter__(self) -> Executor: ...

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None: ...


class _Closing:
    def close(self) -> None:
        pass

    def __enter__(self) -> Any:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class InlineExecutor(_Closing):
    """One worker: the calling process."""

    workers = 1

    def map(self, fn: Callable[[T], R], jobs: Sequence[T]) -> Iterator[R]:
        for job in jobs:
            yield fn(job)


def _ignore_interrupt() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class PoolExecutor(_Closing):
    """``workers`` local processes."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_ignore_interrupt,
        )

    def map(self, fn: Callable[[T], R], jobs: Sequence[T]) -> Iterator[R]:
        futures: list[Future[R]] = [self._pool.submit(fn, job) for job in jobs]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            for future in futures:
                future.cancel()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor(_Closing):
    """The workers of the Dask scheduler at ``address`` (``tcp://HOST:PORT``)."""

    def __init__(self, address: str, timeout_s: float = 30.0) -> None:
        try:
            dist: Any = import_module("distributed")
        except ImportError:
            raise ConfigError(
                "--scheduler needs dask.distributed: pip install 'epur[dask]'"
            ) from None
        try:
            self._dist = dist
            self._client = dist.Client(address, timeout=timeout_s, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ConfigError(f"--scheduler {address}: cannot connect ({exc})") from None
        threads = self._client.nthreads()
        self.workers = max(1, sum(threads.values()))

    def map(self, fn: Callable[[T], R], jobs: Sequence[T]) -> Iterator[R]:
        futures = self._client.map(fn, list(jobs), pure=False)
        try:
            with self._client.as_current():  # as_completed looks for the current client
                completed = self._dist.as_completed(futures)
            for future in completed:
                yield future.result()
        finally:
            self._client.cancel(futures)

    def close(self) -> None:
        self._client.close()


def available_workers() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def make_executor(workers: int | None = None, scheduler: str | None = None) -> Executor:
    """A Dask executor for ``scheduler``, else ``workers`` local processes (default: the
    cores available; one: this process)."""
    if scheduler is not None:
        return DaskExecutor(scheduler)
    n = available_workers() if workers is None else workers
    if not 1 <= n <= MAX_WORKERS:
        raise ConfigError(f"--workers must be from 1 to {MAX_WORKERS}, not {n}")
    return InlineExecutor() if n == 1 else PoolExecutor(n)
