"""Texts of job progress reported from `core` (keys "job.<module>.*"): stored as key + parameters in job files, rendered where shown."""

STRINGS = {
    # Building blocks (core.i18n.verbatim / with_hint / stored): the shape of a text, no words of their own.
    "text.verbatim": ("{text}", "{text}"),
    "text.with_hint": ("{message} {hint}", "{message} {hint}"),
    "text.stored": ("{zh}", "{en}"),
    "text.joined": ("{first} {second}", "{first} {second}"),
    "job.interrupted": ("该任务运行期间应用已停止。", "The app stopped while this job was running."),
    "job.merge.loading_cpu_copy_base": ("正在加载基座模型的 CPU 副本……", "Loading a CPU copy of the base model…"),
    "job.merge.merging_adapter": ("正在合并适配器……", "Merging the adapter…"),
    "job.merge.saving_merged_model": ("正在保存合并后的模型……", "Saving the merged model…"),
    "job.merge.exported": ("已导出到 {out}", "Exported to {out}"),

    "job.train.preparing_dataset": ("正在准备数据集……", "Preparing the dataset…"),
    "job.train.training_steps": ("共 {total} 步，开始训练……", "Training {total} steps…"),
    "job.train.saved_adapter": ("已保存适配器“{name}”。", "Saved adapter '{name}'."),
    "job.train.step_epoch_samples_s": (
        "第 {completed}/{total} 步 · 第 {epoch}/{epochs} 轮 · {rate:.2f} 条/秒",
        "Step {completed}/{total} · epoch {epoch}/{epochs} · {rate:.2f} samples/s",
    ),

    "job.openai_engine.connecting": ("正在连接 {engine_url}……", "Connecting to {engine_url}…"),
    "job.openai_engine.connected": ("已连接：{name}。", "Connected: {name}."),

    "job.chatglm3.converting_chatglm_weights_native": (
        "正在把 ChatGLM 权重转换为原生 GLM 格式（{number}/{files_count}，仅一次）……",
        "Converting ChatGLM weights to the native GLM layout ({number}/{files_count}, once)…",
    ),


    "job.loader.loading": ("正在加载 {name}（{dtype}，{device}）……", "Loading {name} ({dtype} on {device})…"),
    "job.loader.loaded_s": ("已加载 {name}，用时 {load_seconds:.1f} 秒。", "Loaded {name} in {load_seconds:.1f} s."),

    "job.sources.checking_modelscope": ("正在 ModelScope 上检查 {model_id}……", "Checking {model_id} on ModelScope…"),
    "job.sources.download_finished": ("下载完成。", "Download finished."),
    "job.sources.converting_safetensors_cache_once": (
        "正在把 {name} 转换为 safetensors 缓存（仅一次，约 30 秒）……",
        "Converting {name} to a safetensors cache (once, ~30 s)…",
    ),
    "job.sources.conversion_done": ("转换完成。", "Conversion done."),
    "job.sources.downloading": ("正在下载 {model_id}：{mb}", "Downloading {model_id}: {mb}"),

    "job.manager.checking_modelscope": ("正在 ModelScope 上检查 {model_id}……", "Checking {model_id} on ModelScope…"),
    "job.manager.downloading_mb_s": (
        "正在下载 {model_id}：{mb} · {rate:.1f} MB/秒",
        "Downloading {model_id}: {mb} · {rate:.1f} MB/s",
    ),
    "job.manager.downloaded_loading": ("{model_id} 已下载，正在加载……", "Downloaded {model_id}; loading it…"),
}
