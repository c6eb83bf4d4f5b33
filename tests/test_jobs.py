import json
import threading
import time

from core.errors import UserError
from core.i18n import msg
from core.jobs import INTERRUPTED, JobRegistry

INTERRUPTED_MESSAGE, INTERRUPTED_MESSAGE_ZH = INTERRUPTED.render("en"), INTERRUPTED.render("zh")


def test_job_reports_progress_metrics_and_finishes(tmp_path):
    jobs = JobRegistry(tmp_path)

    def runner(ctx):
        for i in range(3):
            ctx.report((i + 1) / 3, msg("kb.step.reading", done=i + 1, total=3, source=""))
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
        ctx.report(0.5, msg("job.merge.merging_adapter"))
        gate.wait(5)

    job = jobs.start("eta", "ETA", {}, runner)
    deadline = time.time() + 5
    while jobs.get(job.id).progress < 0.5 and time.time() < deadline:
        time.sleep(0.02)
    eta = jobs.get(job.id).eta_seconds
    gate.set()
    assert eta is not None and 0.1 < eta < 2


def test_an_interrupted_job_says_so_in_both_languages(tmp_path):
    jobs = JobRegistry(tmp_path)
    job = jobs.start("slow", "Slow", {}, lambda ctx: None)
    jobs.wait(job.id, 5)
    running = jobs.get(job.id)
    running.status = "running"
    jobs.save(running)

    interrupted = JobRegistry(tmp_path).get(job.id)
    assert interrupted.message == INTERRUPTED_MESSAGE and interrupted.status_message.render("zh") == INTERRUPTED_MESSAGE_ZH
    assert json.loads((tmp_path / f"{job.id}.json").read_text(encoding="utf-8"))["status_message"] == INTERRUPTED.to_json()

    reborn = JobRegistry(tmp_path)
    reborn.register("slow", lambda ctx: None)
    reborn.resume(job.id)
    after = reborn.wait(job.id, 5)
    assert after.status == "done" and after.message == "" and after.status_message is None  # no longer "the app stopped"


def test_an_old_job_file_without_message_zh_still_loads(tmp_path):
    old = {  # a job file written before message_zh existed (and before messages were keys)
        "id": "old-1", "kind": "demo", "title": "Old", "params": {}, "status": "interrupted", "progress": 0.4,
        "message": INTERRUPTED_MESSAGE, "error": "", "error_zh": "", "created": 1.0, "started": 1.0, "updated": 2.0,
        "finished": None, "metrics": [], "details": {}, "result": {},
    }
    running = dict(old, id="old-2", status="running", message="Step 3/9")
    for data in (old, running):
        (tmp_path / f"{data['id']}.json").write_text(json.dumps(data), encoding="utf-8")
    jobs = JobRegistry(tmp_path)
    assert jobs.get("old-1").status == "interrupted" and jobs.get("old-1").status_message.render("zh") == INTERRUPTED_MESSAGE_ZH
    assert jobs.get("old-2").status == "interrupted" and jobs.get("old-2").status_message.render("zh") == INTERRUPTED_MESSAGE_ZH


def test_a_new_message_replaces_the_old_one_in_every_language(tmp_path):
    jobs = JobRegistry(tmp_path)

    def runner(ctx):
        ctx.report(0.5, msg("job.merge.merging_adapter"))
        assert ctx.job.status_message.render("zh") == "正在合并适配器……"
        ctx.report(1.0, msg("job.merge.exported", out="/tmp/x"))

    job = jobs.wait(jobs.start("two", "Two", {}, runner).id, 5)
    assert job.status == "done" and (job.message, job.status_message.render("zh")) == ("Exported to /tmp/x", "已导出到 /tmp/x")


def test_a_plain_str_progress_text_is_refused(tmp_path):
    """A sentence passed as str would reach the Chinese UI in English: the worker fails, saying why."""
    jobs = JobRegistry(tmp_path)
    job = jobs.wait(jobs.start("str", "Str", {}, lambda ctx: ctx.report(0.5, "Merging…")).id, 5)
    assert job.status == "failed" and "takes a Message" in job.error
