"""The System page's model picker and remote-code confirmation."""

STRINGS = {
    "picker.title": ("选择模型（不需要知道模型 ID）", "Pick a model (no model id needed)"),
    "picker.intro": (
        "下表列出常用对话模型、下载大小，以及以不同精度运行所需的内存。✅ 表示能装进本机的{where}（共 {budget}）。",
        "Popular chat models, their download size and the memory each needs per precision. ✅ marks what fits this "
        "machine's {where} ({budget} in all).",
    ),
    "picker.where.cuda": ("GPU 显存", "GPU memory"),
    "picker.where.cpu": ("内存（无 GPU，按 CPU 上的 float32 计算）", "RAM (no GPU: judged in float32, how the CPU runs it)"),
    "picker.cpu_hint": (
        "本机没有 GPU：建议从 {name} 开始（约需 {memory} 内存，CPU 上也能较快回答）。8 位 / 4 位量化需要 CUDA GPU，这里不提供。",
        "No GPU here: start with {name} (needs about {memory} of RAM and answers reasonably fast on a CPU). "
        "8-bit / 4-bit loading needs a CUDA GPU, so it is not offered here.",
    ),
    "picker.no_bnb": (
        "有 GPU，但未安装 bitsandbytes：只提供 bf16/fp16。安装后（pip install bitsandbytes）可用 8 位 / 4 位加载和 QLoRA。",
        "A GPU is here but bitsandbytes is not installed: only bf16/fp16 is offered. Install it (pip install bitsandbytes) "
        "for 8-bit / 4-bit loading and QLoRA.",
    ),
    "picker.col.model": ("模型", "Model"),
    "picker.col.params": ("参数量", "Parameters"),
    "picker.col.download": ("下载大小", "Download"),
    "picker.col.bf16": ("bf16/fp16 所需", "bf16/fp16 needs"),
    "picker.col.8bit": ("8 位所需", "8-bit needs"),
    "picker.col.4bit": ("4 位所需", "4-bit needs"),
    "picker.col.fits": ("本机", "This machine"),
    "picker.col.state": ("状态", "State"),
    "picker.fits": ("✅ {precision}", "✅ {precision}"),
    "picker.too_big": ("❌ 装不下", "❌ too large"),
    "picker.downloaded": ("已下载", "downloaded"),
    "picker.not_downloaded": ("未下载", "not downloaded"),
    "picker.choose": ("要使用的模型", "Model to use"),
    "picker.precision": ("精度", "Precision"),
    "picker.precision.bfloat16": ("bf16/fp16（完整精度）", "bf16/fp16 (full precision)"),
    "picker.precision.8bit": ("8 位（bitsandbytes）", "8-bit (bitsandbytes)"),
    "picker.precision.4bit": ("4 位 NF4（bitsandbytes，可做 QLoRA 训练）", "4-bit NF4 (bitsandbytes; trains as QLoRA)"),
    "picker.precision.float32": ("float32（CPU）", "float32 (CPU)"),
    "picker.wont_fit": ("按估算，{name} 装不进本机的{where}；仍可尝试，但可能因内存不足而失败。",
                        "By the estimate {name} does not fit this machine's {where}; you can still try, but it may run out of memory."),
    "picker.check": ("下载前检查", "Check before downloading"),
    "picker.check_ok": ("检查通过：{name} 可以在本机加载。", "No problems found: {name} can load here."),
    "picker.download": ("从 ModelScope 下载并加载", "Download from ModelScope and load"),
    "picker.load": ("加载（已下载）", "Load (already downloaded)"),
    "picker.resume": ("继续下载", "Resume download"),
    "picker.remote_files": ("该文件夹自带以下 Python 文件，加载时会在应用内运行：{files}",
                            "This folder ships Python files that would run inside the app when loaded: {files}"),
    "picker.remote_confirm": ("我信任这些文件的作者，允许运行它们", "I trust the authors of these files and allow them to run"),
    "picker.remote_needed": ("请先勾选上面的确认框，才能加载会运行代码的模型。",
                             "Tick the confirmation above first: this model runs code."),
    "picker.remote_off": ("该文件夹自带 Python 文件（{files}），但 trust_remote_code 已关闭：它们不会运行。",
                          "This folder ships Python files ({files}) but trust_remote_code is off: they will not run."),
}
