"""Texts a new user meets on the way through the app: what the demo model can do, the empty
chat, loading, uploads, and labels that used to be English inside the Chinese UI."""

STRINGS = {
    # the built-in demo model (Home, Chat's empty state, the sidebar badge)
    "demo.badge": ("演示模型：很小、以英文为主", "Demo model: tiny, English-first"),
    "demo.note": (
        "内置的 **SmolLM2-135M** 是一个很小、以英文为主的演示模型，只用来试用本应用：它常用英文回答，"
        "知识库问题也可能答非所问。要用中文对话，请到**系统**页加载 ChatGLM3 / Qwen / GLM 模型；"
        "只有 CPU 的机器推荐 0.5B–1.5B 的 Qwen 指令模型（如 `Qwen/Qwen2.5-1.5B-Instruct`）。",
        "The built-in **SmolLM2-135M** is a tiny, English-first demo model for trying the app: it often answers "
        "in English, and may miss knowledge-base questions. For Chinese, load a ChatGLM3 / Qwen / GLM model on the "
        "**System** page; on a CPU-only machine a 0.5B–1.5B Qwen instruct model (e.g. `Qwen/Qwen2.5-1.5B-Instruct`) "
        "is a good choice.",
    ),
    "demo.go_system": ("到系统页换模型", "Switch model on the System page"),
    "chat.empty": (
        "在下方输入框提问，按 Enter 发送。左侧可以调整回答长度、切换模式（知识库、代码解释器）和人设。",
        "Ask below and press Enter. The sidebar sets the answer length, the mode (knowledge base, code) and the persona.",
    ),
    "chat.cancel_edit": ("取消", "Cancel"),
    "kb.info_indexing": ("索引中：{step}", "indexing: {step}"),
    "kb.info_starting": ("索引中：准备读取文件…", "indexing: getting ready to read the files…"),
    "app.starting": ("炼丹正在启动，请稍候…", "Liandan is starting, one moment…"),
    "variant.base": ("基座模型", "base"),
    "compare.pair_sep": (" 对 ", " vs "),
    # uploads (Streamlit's own uploader chrome is English; these replace it)
    "upload.button": ("选择文件", "Browse files"),
    "upload.drop": ("把文件拖到这里，或点击“选择文件”", "Drag and drop files here, or browse"),
    "upload.limit": ("每个文件最大 {mb} MB", "Up to {mb} MB per file"),
    "upload.types": ("支持：{types}", "Accepted: {types}"),
    "upload.rejected": (
        "“{name}”未被接受：不支持 {suffix} 文件（支持 {types}）。",
        "“{name}” was not accepted: {suffix} files are not supported (accepted: {types}).",
    ),
    "upload.no_suffix": ("无扩展名", "no extension"),
    # system page's model table
    "system.info.name": ("名称", "Name"),
    "system.info.source": ("来源", "Source"),
    "system.info.architecture": ("结构", "Architecture"),
    "system.info.parameters": ("参数量", "Parameters"),
    "system.info.dtype": ("精度", "Precision"),
    "system.info.device": ("设备", "Device"),
    "system.info.context": ("上下文长度", "Context window"),
    "system.info.load_time": ("加载耗时", "Load time"),
    "system.info.tokens": ("{n} 个 token", "{n} tokens"),
    "system.info.seconds": ("{s:.1f} 秒", "{s:.1f} s"),
    "system.info.millions": ("{m:.1f} M（百万）", "{m:.1f} M"),
    "system.versions": ("torch {torch} · CUDA {cuda}", "torch {torch} · CUDA {cuda}"),
    "system.no_cuda": ("无", "none"),
    "job.title.load": ("加载模型 {spec}", "Load {spec}"),
    "job.title.merge": ("合并导出 · {name}", "Merge · {name}"),
    # fine-tune labels
    "ft.ad.title": ("{steps} 步 · 损失 {loss}", "{steps} steps · loss {loss}"),
    "ft.no_value": ("无", "n/a"),
    "ft.col.line": ("行号", "Line"),
    "ft.col.system": ("系统提示", "System"),
    "ft.col.prompt": ("问题", "Prompt"),
    "ft.col.answer": ("回答", "Answer"),
    "ft.col.turns": ("轮数", "Turns"),
    "ft.col.tokens": ("token 数", "Tokens"),
    "ft.col.records": ("记录数", "Records"),
    "compare.col.rate": ("胜率", "Win rate"),
    "compare.col.lo": ("区间下限", "Lower bound"),
    "compare.col.hi": ("区间上限", "Upper bound"),
    "compare.col.n": ("分出胜负的票数", "Decisive votes"),
}
