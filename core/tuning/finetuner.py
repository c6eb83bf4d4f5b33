"""The fine-tuning service the page, the CLI and tests share: datasets in, jobs out.

Created once per process (`Runtime.finetune`); registering the job kind here is what lets
a job interrupted by an app restart be resumed from the job list.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
from pathlib import Path

from core.errors import UserError
from core.jobs import Job, JobContext
from core.models.capabilities import require_mergeable, require_trainable
from core.tuning import datasets, dpo, server_training
from core.adapters.store import fingerprint
from core.tuning.merge import MERGE_JOB, run_merge
from core.tuning.presets import TrainConfig
from core.tuning.train import JOB_KIND, TrainingRun, check_name, prepare
from core.i18n import msg

log = logging.getLogger(__name__)
FORM = "form.json"  # the Fine-tune page's last dataset and settings, so coming back restores them


class FineTuner:
    def __init__(self, runtime) -> None:
        self.runtime = runtime
        self.folder = runtime.settings.finetune_dir
        (self.folder / "datasets").mkdir(parents=True, exist_ok=True)
        (self.folder / "runs").mkdir(parents=True, exist_ok=True)
        runtime.jobs.register(JOB_KIND, self._run)
        runtime.jobs.register(MERGE_JOB, lambda ctx: run_merge(runtime, ctx))
        self._local_base: tuple[object, server_training.LocalBase] | None = None  # (server engine, its base here)

    # --- datasets ----------------------------------------------------------------
    def save_dataset(self, name: str, data: bytes) -> Path:
        """Keep an uploaded file (by content hash) so a job can be resumed after a restart."""
        limit = self.runtime.settings.max_upload_mb
        if len(data) > limit * 1e6:
            raise UserError(
                msg("errors.finetuner.too_large_mb", name=name, data_count=len(data) / 1e6),
                msg("errors.finetuner.too_large_mb.hint", limit=limit),
            )
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in Path(name).name)[-80:]
        path = self.folder / "datasets" / f"{hashlib.sha256(data).hexdigest()[:12]}-{safe}"
        if not path.exists():
            path.write_bytes(data)
        return path

    # --- the page's last choices ---------------------------------------------------
    def form(self) -> dict:
        """What the user last chose on the Fine-tune page (dataset, persona, preset, name); {} if none.

        A dataset whose file is gone is dropped, so the page never offers a file it cannot read."""
        try:
            values = json.loads((self.folder / FORM).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            values = self._from_last_job()
        if not isinstance(values, dict):
            return {}
        dataset = values.get("dataset")
        if not (isinstance(dataset, dict) and Path(str(dataset.get("path", ""))).is_file()):
            values.pop("dataset", None)
        return values

    def _from_last_job(self) -> dict:
        """Before the page saved anything (or started from the CLI/API): the newest job's choices."""
        job = next(iter(self.jobs()), None)
        if job is None:
            return {}
        config = job.params.get("config", {})
        return {"dataset": {"path": job.params.get("dataset", ""), "name": job.params.get("dataset_name", "")},
                "persona": config.get("system_prompt", ""), "preset": config.get("preset")}

    def remember_form(self, values: dict) -> None:
        """Keep the page's choices on disk (only when they changed: the page calls this on every run)."""
        if values == self.form():
            return
        tmp = self.folder / (FORM + ".tmp")
        try:
            tmp.write_text(json.dumps(values, ensure_ascii=False), encoding="utf-8")
            tmp.replace(self.folder / FORM)
        except OSError as exc:  # a read-only data folder must not break the page
            log.warning("could not save the Fine-tune form: %s", exc)

    def name_taken(self, name: str) -> bool:
        """True when starting a job named `name` would be refused for its name (adapter or unfinished job)."""
        name = name.strip()
        engine = self.runtime.models.engine
        if self.runtime.adapters.exists(name) or (engine is not None and name in engine.adapter_names()):
            return True
        return any(j.params.get("name") == name and j.status in ("pending", "running", "interrupted", "cancelled")
                   for j in self.jobs())

    def suggest_name(self, dataset_name: str | None = None) -> str:
        """A valid adapter name no adapter or job uses yet, from the dataset's file name ("huanhuan-1")."""
        stem = Path(dataset_name or "").stem
        stem = re.sub(r"[^\w\u4e00-\u9fff-]+", "-", stem).strip("-_")[:40] or "adapter"
        if stem.lower() == "base":
            stem = "adapter"
        number = 1
        while self.name_taken(f"{stem}-{number}"):
            number += 1
        return f"{stem}-{number}"

    # --- jobs --------------------------------------------------------------------
    def jobs(self) -> list[Job]:
        return self.runtime.jobs.list(JOB_KIND)

    def active(self) -> Job | None:
        return next((j for j in self.jobs() if j.active), None)

    # --- what trains -------------------------------------------------------------
    def trainer(self):
        """What a job trains on: the loaded engine itself, or for a server engine its base opened here
        (a `LocalBase`: weights loaded only while the job runs). Raises why neither is possible."""
        engine = self.runtime.models.require()
        if not server_training.is_server(engine):
            return require_trainable(engine)
        if self._local_base is None or self._local_base[0] is not engine:  # opened once per server engine
            self._local_base = (engine, server_training.local_base(engine, self.runtime.settings.trust_remote_code))
        return self._local_base[1]

    def memory_plan(self, base: server_training.LocalBase, config: TrainConfig, longest: int,
                    available_bytes: int | None = None) -> server_training.MemoryPlan:
        """Memory the job needs here (the base's copy + training) against what is free beside the server."""
        device, dtype = server_training.job_device(self.runtime.settings)
        health = self.runtime.models.require().server_health()
        return server_training.plan(base, config, longest, device, dtype, health, available_bytes)

    def start(self, dataset_path: Path, name: str, config: TrainConfig, dataset_name: str | None = None,
              available_bytes: int | None = None) -> Job:
        """Check everything a user can fix now, then train in the background.

        `available_bytes` (a server engine only): the memory to plan against instead of what is free now."""
        engine = self.trainer()
        name = check_name(name)
        if self.runtime.adapters.exists(name) or name in self.runtime.models.require().adapter_names():  # the server's too
            raise UserError("errors.finetuner.adapter_named_already_exists", name=name)
        if self.active() is not None:
            raise UserError("errors.finetuner.training_job_already_running")
        if any(j.params.get("name") == name and j.status in ("interrupted", "cancelled") for j in self.jobs()):
            raise UserError("errors.finetuner.unfinished_job_training", name=name)
        dataset_name = dataset_name or dataset_path.name
        # Both refuse bad files and impossible settings before the job starts.
        if config.preset == "dpo":
            config = dpo.check(engine, self.runtime.adapters, dataset_path, dataset_name, config)
            longest = config.max_length
        else:
            prepared = prepare(engine, datasets.parse(dataset_name, dataset_path.read_bytes()), config)
            longest = max(len(e.input_ids) for e in prepared.train + prepared.val)
        params = {"name": name, "dataset": str(dataset_path), "dataset_name": dataset_name,
                  "config": config.model_dump(), "base_fingerprint": fingerprint(engine.base_config),
                  "base_model": engine.info.name}
        if isinstance(engine, server_training.LocalBase):
            rows = 2 if config.preset == "dpo" else 1  # each pair is two rows (chosen, rejected) in one forward pass
            server_training.require_fits(self.memory_plan(
                engine, config.model_copy(update={"batch_size": rows * config.batch_size}), longest, available_bytes))
            params["local_base"] = str(engine.folder)  # the job loads it here, then hot-loads the adapter into the server
        return self.runtime.jobs.start(JOB_KIND, f"{'DPO' if config.preset == 'dpo' else 'LoRA'} · {name}", params)

    def resume(self, job_id: str) -> Job:
        if self.active() is not None:
            raise UserError("errors.finetuner.training_job_already_running")
        return self.runtime.jobs.resume(job_id)

    def delete(self, job_id: str) -> None:
        self.runtime.jobs.delete(job_id)
        shutil.rmtree(self.run_dir(job_id), ignore_errors=True)

    def merge(self, name: str) -> Job:
        """Export `name` merged into a copy of the base, as a background job."""
        require_mergeable(self.runtime.models.require())  # a server-only engine has no local base to merge into
        self.runtime.adapters.get(name)
        return self.runtime.jobs.start(MERGE_JOB, f"Merge · {name}", {"name": name})

    def run_dir(self, job_id: str) -> Path:
        return self.folder / "runs" / job_id

    def _run(self, ctx: JobContext) -> None:
        engine = self.runtime.models.require()
        run_dir = self.run_dir(ctx.job.id)
        run_dir.mkdir(parents=True, exist_ok=True)
        kind = dpo.DpoRun if ctx.job.params.get("config", {}).get("preset") == "dpo" else TrainingRun
        folder = ctx.job.params.get("local_base")
        if folder is None:
            kind(engine, self.runtime.adapters, ctx, run_dir).run()
            return
        name = ctx.job.params["name"]
        ctx.report(0.0, msg("job.server_training.loading_base", folder=folder))
        with server_training.loaded_for_job(Path(folder), ctx.job.params.get("base_model", name), self.runtime.settings) as local:
            kind(local, self.runtime.adapters, ctx, run_dir).run()
        ctx.report(1.0, msg("job.server_training.hot_loading", name=name))
        server_training.hot_load(engine, self.runtime.adapters, name)
        ctx.report(1.0, msg("job.server_training.hot_loaded", name=name, server=engine.info.name))
