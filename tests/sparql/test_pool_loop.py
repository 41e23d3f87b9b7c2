"""``QueryPool.run_async``: the event loop sends a job and reads a small answer itself (issue 14),
with every guarantee of the thread path -- the same bytes and errors, the timeout that kills,
a dead worker reported, a long answer handed to a thread, a cancelled job's worker freed.

Real worker processes on the session's store; ``in_thread`` is anyio's thread, counted.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import anyio
import anyio.to_thread
import pytest
from support.web_server import web_settings, web_store  # noqa: F401  (fixtures)

from cpbkg.config import Settings
from cpbkg.errors import QueryTimeout, ResultTooLarge, WorkerCrashed
from cpbkg.sparql.execute import Answer, Job
from cpbkg.sparql.pool import LOOP_BYTES, QueryPool
from cpbkg.sparql.service import QueryService
from cpbkg.store.embedded import LoadedStore

#: the timeout of the jobs here; no assertion waits for it to pass
TIMEOUT = 3.0
SMALL = "SELECT ?s ?label WHERE { ?s <http://www.w3.org/2004/02/skos/core#prefLabel> ?label } LIMIT 5"
#: every triple: an answer far over LOOP_BYTES
LARGE = "SELECT * WHERE { ?s ?p ?o }"
#: runs until the timeout (a cross product counted whole)
ENDLESS = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


class Threads:
    """An ``in_thread`` that counts the calls it ran in a thread."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, call: Callable[[], Answer]) -> Answer:
        self.calls += 1
        return await anyio.to_thread.run_sync(call)


@pytest.fixture(scope="module")
def service(web_settings: Settings, web_store: LoadedStore) -> Iterator[QueryService]:  # noqa: F811
    settings = web_settings.with_(query_timeout=TIMEOUT, result_cap=0)
    pool = QueryPool(web_store.path, size=1).start()
    pool.warm()
    yield QueryService(settings, web_store, pool=pool)
    pool.close()


def job(service: QueryService, text: str, **options: object) -> Job:
    return service.prepare(text, **options).job  # type: ignore[arg-type]


class Loop:
    """Runs a coroutine on asyncio's own event loop or on uvloop's."""

    def __init__(self, uvloop: bool) -> None:
        self.options = {"use_uvloop": uvloop}

    def run(self, call: Callable[..., Awaitable[Answer | None]], *args: object) -> Any:
        return anyio.run(call, *args, backend_options=self.options)

    def answer(self, service: QueryService, text: str, threads: Threads | None = None, **options: object) -> Answer:
        """The answer of ``text``, from ``run_async`` on this loop."""
        answer: Answer = self.run(service.pool.run_async, job(service, text, **options), threads or Threads())
        return answer


@pytest.fixture(params=["asyncio", "uvloop"])
def loop(request: pytest.FixtureRequest) -> Loop:
    """Each test on asyncio's own loop and on uvloop's, which ``cpbkg serve`` runs (uvicorn's
    ``loop="auto"``; uvloop makes a pipe it watches non-blocking)."""
    return Loop(request.param == "uvloop")


def test_a_small_answer_is_read_on_the_loop_with_the_threads_bytes(service: QueryService, loop: Loop) -> None:
    for text, options in ((SMALL, {}), (SMALL, {"results_format": "csv"}),
                          ("CONSTRUCT WHERE { ?s a ?c } LIMIT 3", {}), ("ASK { ?s ?p ?o }", {})):
        threads = Threads()
        answer = loop.answer(service, text, threads, **options)
        assert threads.calls == 0, text
        expected = service.pool.run(job(service, text, **options))
        assert (answer.kind, answer.format, answer.body) == (expected.kind, expected.format, expected.body)
        assert answer.rest is None


def test_an_error_of_the_worker_is_raised_on_the_loop(service: QueryService, loop: Loop) -> None:
    threads = Threads()
    with pytest.raises(ResultTooLarge, match="more than 2 rows"):
        loop.answer(service, SMALL.replace("LIMIT 5", ""), threads, row_cap=2)
    assert threads.calls == 0
    assert loop.answer(service, "ASK {}").body  # the worker is free again


def test_a_long_answer_goes_on_in_a_thread(service: QueryService, loop: Loop) -> None:
    threads = Threads()
    answer = loop.answer(service, LARGE, threads)
    assert threads.calls == 1
    body = answer.body
    if answer.rest is not None:
        parts = [body]
        while (chunk := answer.rest.read()) is not None:
            parts.append(chunk)
        answer.rest.close()
        body = b"".join(parts)
    expected = service.pool.run(job(service, LARGE))
    if expected.rest is not None:
        expected.rest.close()
    assert len(body) > LOOP_BYTES
    assert body.startswith(expected.body)


def test_the_timeout_kills_the_worker(service: QueryService, loop: Loop) -> None:
    killed = service.pool.killed
    with pytest.raises(QueryTimeout):
        loop.answer(service, ENDLESS)
    assert service.pool.killed == killed + 1
    assert loop.answer(service, "ASK {}").body  # a new worker answers


def test_a_worker_that_dies_is_reported(service: QueryService, loop: Loop) -> None:
    (pid,) = service.pool.pids
    killer = threading.Timer(0.5, os.kill, (pid, signal.SIGKILL))
    killer.start()
    with pytest.raises(WorkerCrashed):
        loop.answer(service, ENDLESS)
    killer.join()
    assert service.pool.pids != [pid]
    assert loop.answer(service, "ASK {}").body


def test_a_cancelled_job_frees_its_worker(service: QueryService, loop: Loop) -> None:
    async def cancelled() -> None:
        with anyio.move_on_after(0.3):
            await service.pool.run_async(job(service, ENDLESS), Threads())
    loop.run(cancelled)
    # the worker stops the answer, or is killed at the timeout; either way the pool answers again
    answer = service.pool.run(job(service, "ASK {}"))
    assert answer.body
    assert service.pool._active == 0


def test_a_cancelled_read_leaves_the_pipe_to_the_thread_that_stops_the_answer(service: QueryService,
                                                                              loop: Loop) -> None:
    """Cancelling the task that reads an answer on the loop cancels the future it awaits: the loop
    must still stop watching the worker's pipe, and give it back blocking. A reader left there took
    the frames the stopping thread waited for (so the worker was killed), then, once the descriptor
    was reused, a new worker's ready frame."""
    (worker,) = service.pool._workers

    async def cancelled() -> tuple[bool, bool]:
        task = asyncio.get_running_loop().create_task(service.pool.run_async(job(service, ENDLESS), Threads()))
        await anyio.sleep(0.3)  # the job is sent, its answer read on the loop
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return asyncio.get_running_loop().remove_reader(worker.rfd), os.get_blocking(worker.rfd)

    still_read, blocking = loop.run(cancelled)
    assert not still_read, "the event loop still reads the pipe of the stopped answer's worker"
    assert blocking
    # the worker stops the answer, or is killed at the timeout; either way the pool answers again
    assert service.pool.run(job(service, "ASK {}")).body


def test_a_long_capped_answer_goes_on_in_a_thread(service: QueryService, loop: Loop) -> None:
    # held whole by the worker, counted, then sent in chunks: over LOOP_BYTES
    text = "SELECT * WHERE { ?s ?p ?o } LIMIT 5000"
    threads = Threads()
    answer = loop.answer(service, text, threads, results_format="tsv", row_cap=5000)
    assert threads.calls == 1
    assert len(answer.body) > LOOP_BYTES and answer.rest is None
    assert answer.body.rstrip(b"\n").count(b"\n") == 5000
    assert answer.body == service.pool.run(job(service, text, results_format="tsv", row_cap=5000)).body


def test_no_idle_worker_takes_the_thread_path(service: QueryService, loop: Loop) -> None:
    endless = dataclasses.replace(job(service, ENDLESS), timeout=1.0)  # frees the worker before the next times out
    busy = threading.Thread(target=lambda: pytest.raises(QueryTimeout, service.pool.run, endless))
    busy.start()
    deadline = time.monotonic() + TIMEOUT
    while service.pool._idle.qsize() and time.monotonic() < deadline:
        time.sleep(0.01)
    threads = Threads()
    answer = loop.answer(service, "ASK {}", threads)  # waits for the worker in a thread
    busy.join()
    assert threads.calls == 1
    assert answer.body
