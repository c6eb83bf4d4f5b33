import threading
import time

from core.errors import UserError
from core.jobs import JobRegistry


def test_job_reports_progress_metrics_and_finishes(tmp_path):
    jobs = JobRegistry(tmp_path)

    def runner(ctx):
        for i in range(3):
            ctx.report((i + 1) / 3, f"step {i + 1}")
            ctx.metric(step=i + 1, loss=1.0 / (i + 1))
        ctx.set_result(answer=42)

    job = jobs.start("demo", "Demo", {"x": 1}, runner)
    done = jobs.wait(job.id, 5)
    assert done.status == "done" and done.progress == 1.0
    assert [m["step"] for m in done.metrics] == [1, 2, 3]
    assert done.result == {"answer": 42}


def test_cancel_stops_at_the_next_check(tmp_path):
    jobs = JobRegistry(tmp_path)
    started = threading.Event()

    def runner(ctx):
        started.set()
        while True:
            ctx.check_cancel()
            time.sleep(0.01)

    job = jobs.start("loop", "Loop", {}, runner)
    started.wait(2)
    jobs.cancel(job.id)
    assert jobs.wait(job.id, 5).status == "cancelled"


def test_user_error_becomes_the_job_message(tmp_path):
    jobs = JobRegistry(tmp_path)

    def runner(ctx):
        raise UserError("line 3: 'output' is empty.", "Fix the file.")

    job = jobs.wait(jobs.start("bad", "Bad", {}, runner).id, 5)
    assert job.status == "failed" and job.error == "line 3: 'output' is empty. Fix the file."


def test_a_job_running_when_the_process_died_is_interrupted_and_resumable(tmp_path):
    jobs = JobRegistry(tmp_path)
    job = jobs.start("slow", "Slow", {"n": 3}, lambda ctx: time.sleep(0.2))
    # Simulate a crash: the job file still says "running" when a new process starts.
    running = jobs.get(job.id)
    running.status = "running"
    jobs.save(running)
    jobs.wait(job.id, 5)
    jobs.save(running)

    reborn = JobRegistry(tmp_path)
    assert reborn.get(job.id).status == "interrupted"
    seen = []
    reborn.register("slow", lambda ctx: seen.append(ctx.job.params["n"]))
    reborn.resume(job.id)
    after = reborn.wait(job.id, 5)
    assert after.status == "done" and seen == [3] and after.details["resumed"] == 1


def test_eta_is_derived_from_progress(tmp_path):
    jobs = JobRegistry(tmp_path)
    gate = threading.Event()

    def runner(ctx):
        time.sleep(0.2)
        ctx.report(0.5, "half")
        gate.wait(5)

    job = jobs.start("eta", "ETA", {}, runner)
    deadline = time.time() + 5
    while jobs.get(job.id).progress < 0.5 and time.time() < deadline:
        time.sleep(0.02)
    eta = jobs.get(job.id).eta_seconds
    gate.set()
    assert eta is not None and 0.1 < eta < 2
