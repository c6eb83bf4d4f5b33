"""Training beside an OpenAI-compatible server (vLLM): the base loaded here for the job, the adapter hot-loaded."""

STRINGS = {
    "errors.server_training.base_not_here": (
        "推理服务器的模型“{model}”的文件夹（{root}）不在本机，无法在这里训练它的适配器。",
        "The server's model '{model}' has its folder ({root}) elsewhere, so its adapters cannot be trained here."),
    "errors.server_training.base_not_here.hint": (
        "在能读取该模型文件夹的机器上运行 Liandan（与 vLLM 同一台机器、同一路径），或在“系统”页加载本地模型后训练。",
        "Run Liandan where the model folder is readable (the vLLM machine, same path), or load a local model on the System page."),
    "errors.server_training.base_unreadable": (
        "无法读取推理服务器的模型文件夹 {root}：{exc}",
        "The server's model folder {root} cannot be read: {exc}"),
    "errors.server_training.wont_fit": (
        "内存不足，已拒绝：训练需要在本机再加载一份基座（约 {weights:.1f} GB）并额外约 {training:.1f} GB，"
        "共约 {need:.1f} GB，但 {device} 在推理服务器占用之外只有 {free:.1f} GB 可用。",
        "Refused, not enough memory: training loads a second copy of the base here (about {weights:.1f} GB) plus about "
        "{training:.1f} GB, {need:.1f} GB in all, but {device} has {free:.1f} GB free besides what the server holds."),
    "errors.server_training.wont_fit.hint": (
        "减小批大小或最大长度；或给推理服务器更少的内存（vLLM 的 --gpu-memory-utilization，CPU 上的 VLLM_CPU_KVCACHE_SPACE）后重启它。",
        "Lower the batch size or max length, or restart the server with less memory (vLLM's --gpu-memory-utilization, "
        "VLLM_CPU_KVCACHE_SPACE on CPU)."),
    "errors.server_training.hot_load_failed": (
        "适配器“{name}”已训练并保存，但推理服务器没有加载它：{error}",
        "Adapter '{name}' is trained and saved, but the server did not load it: {error}"),
    "errors.server_training.hot_load_failed.hint": (
        "服务器需要 --enable-lora、VLLM_ALLOW_RUNTIME_LORA_UPDATING=True，并能读取 data/adapters 下的同一路径；之后首次使用时会再次加载。",
        "The server needs --enable-lora, VLLM_ALLOW_RUNTIME_LORA_UPDATING=True and the same data/adapters path; it is loaded again on first use."),
    "job.server_training.loading_base": ("在本机加载基座用于训练：{folder}", "Loading the base here for training: {folder}"),
    "job.server_training.hot_loading": ("正在把适配器“{name}”加载到推理服务器…", "Loading adapter '{name}' into the server…"),
    "job.server_training.hot_loaded": ("适配器“{name}”已加载到推理服务器 {server}。", "Adapter '{name}' is loaded into the server {server}."),
    "ft.server.intro": (
        "推理引擎是推理服务器“{engine}”：训练任务会在本机临时加载一份基座（仅在任务期间），训练完成后把适配器热加载到服务器。",
        "The engine is the server '{engine}': a job loads a copy of the base here for its duration only, then hot-loads the adapter into the server."),
    "ft.server.mem": (
        "内存：本机训练需要约 {need:.1f} GB（基座 {weights:.1f} GB + 训练 {training:.1f} GB），{device} 在服务器占用之外可用 {free:.1f} GB；{server}",
        "Memory: training here needs about {need:.1f} GB (base {weights:.1f} GB + training {training:.1f} GB); {device} has {free:.1f} GB free besides the server; {server}"),
    "ft.server.kv": ("服务器的 KV 缓存 {kv:.1f} GB。", "the server's KV cache is {kv:.1f} GB."),
    "ft.server.gpu_share": ("服务器预留了 GPU 的 {share:.0%}（--gpu-memory-utilization）。",
                            "The server reserved {share:.0%} of the GPU (--gpu-memory-utilization)."),
    "ft.server.kv_unknown": ("服务器未报告自己的内存。", "the server does not report its memory."),
    "ft.server.unavailable": ("无法在本机为该服务器训练：{reason}", "Cannot train for this server here: {reason}"),
}
