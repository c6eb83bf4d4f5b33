"""Plain-language tooltips (`help=`) for the jargon on every page, and the "advanced" label.

Written for someone who has never trained a model: what the knob does to the answer or
the result, and when to touch it.
"""

STRINGS = {
    "help.advanced": ("高级设置", "Advanced settings"),
    # generation
    "help.max_new_tokens": (
        "回答最多能有多长（1 个 token 约等于 1 个汉字或半个英文单词）。越长越慢；在 CPU 上 128–256 通常就够了。",
        "The longest an answer may get (a token is about one Chinese character or half an English word). "
        "Longer is slower; on a CPU 128–256 is usually enough.",
    ),
    "help.temperature": (
        "回答的随机程度。0 = 每次都选最可能的词，回答固定；越高越有变化、也越容易跑题。常用 0.3–0.8。",
        "How random the answer is. 0 = always the most likely word, the same answer every time; "
        "higher gives more variety and more rambling. 0.3–0.8 is common.",
    ),
    "help.top_p_label": ("核采样 top-p", "Nucleus sampling (top-p)"),
    "help.top_p": (
        "只从最可能的一批词里挑选，这批词的概率加起来不超过这个比例。1 = 不限制；调低（如 0.8）回答更稳、更保守。",
        "Pick only among the most likely words whose chances add up to this share. "
        "1 = no limit; lower (e.g. 0.8) gives safer, more predictable answers.",
    ),
    "help.top_k_label": ("候选词数 top-k", "Candidate words (top-k)"),
    "help.top_k": (
        "每一步只在概率最高的这么多个词里挑选。0 = 不限制。与知识库的“返回条数”无关。",
        "At each step pick only among this many most likely words. 0 = no limit. "
        "Not the same as the knowledge base's number of results.",
    ),
    "help.repetition_penalty": (
        "大于 1 时，模型会少重复已经说过的话；太高会让用词变得奇怪。1 = 不处理。",
        "Above 1 the model repeats itself less; too high makes its wording odd. 1 = off.",
    ),
    "help.seed": (
        "随机数的起点。填同一个整数，同样的问题和设置就会得到同样的回答；留空则每次都不一样。",
        "Where the randomness starts. The same integer gives the same answer to the same question and settings; "
        "empty gives a different one each time.",
    ),
    # knowledge base
    "help.kb_top_k": (
        "每个问题从知识库取回多少段文字交给模型参考。多一些更全面，但提示更长、回答更慢。与生成参数里的 top-k 无关。",
        "How many passages are fetched from the knowledge base for each question. More is more complete "
        "but makes the prompt longer and the answer slower. Not the sampling top-k.",
    ),
    "help.kb_mode": (
        "混合 = 关键词匹配（BM25：看问题里的词在文中出现得多不多，中文很准）加上语义相似度（向量模型：意思相近也能找到）。一般选混合。",
        "Hybrid = keyword matching (BM25: how often the question's words appear in a passage; strong on Chinese) "
        "plus meaning similarity (the embedding model: finds passages that say the same in other words). Hybrid is usually best.",
    ),
    "help.embedding_model": (
        "把每段文字变成一串数字（向量）的模型，用来按“意思”找相近的段落。embedded = 内置的 all-MiniLM-L6-v2（离线可用，偏英文）；"
        "中文资料可填本地文件夹或 ModelScope 模型 ID，如 AI-ModelScope/bge-small-zh-v1.5。创建后不能更改。",
        "The model that turns each passage into a list of numbers (a vector) so passages can be found by meaning. "
        "embedded = the bundled all-MiniLM-L6-v2 (works offline, English-leaning); for Chinese documents give a local folder "
        "or a ModelScope id such as AI-ModelScope/bge-small-zh-v1.5. It cannot be changed after creation.",
    ),
    "help.chunk_size": (
        "文档会被切成一段段（分块）再存入知识库，回答时按块取回。这是每块的大约长度（字符）：太短缺少上下文，太长不够精确。默认 500。",
        "Documents are cut into pieces (chunks) before they are stored, and answers fetch whole chunks. This is a chunk's "
        "rough length in characters: too short loses context, too long is less precise. Default 500.",
    ),
    "help.chunk_overlap": (
        "相邻两块共用的字符数，避免一句话被切断后两边都找不到。一般取分块长度的 10%–30%。",
        "Characters two neighbouring chunks share, so a sentence cut in two can still be found. Usually 10–30% of the chunk size.",
    ),
    # fine-tune
    "help.preset": (
        "一组事先配好的训练参数。第一次试用选“快速演示”：几分钟就能看到效果；效果不够再换更完整的方案，或在“高级设置”里自己调。",
        "A ready-made set of training values. For a first try pick the quick demo, which shows a result in minutes; "
        "switch to a fuller preset, or tune the advanced settings yourself, when it is not enough.",
    ),
    "help.precision": (
        "模型权重用几位数字保存。位数越少越省显存、质量略降；4 位 NF4 能让大模型放进小显卡，还能做 QLoRA 训练。能放下就选完整精度。",
        "How many bits each of the model's weights is stored in. Fewer bits need less GPU memory at a small cost in quality; "
        "4-bit NF4 fits big models on small GPUs and can still be trained (QLoRA). Pick full precision when it fits.",
    ),
    "help.epochs": (
        "把整个数据集从头到尾学几遍。遍数多记得牢，但太多会死记硬背（过拟合）。",
        "How many times training goes through the whole dataset. More remembers better; too many learns it by rote (overfitting).",
    ),
    "help.lr": (
        "每一步改动模型的幅度。太大训练会发散（损失不降反升），太小学得很慢。LoRA 常用 1e-4 到 2e-4。",
        "How big each training step's change is. Too big and training diverges (the loss goes up), too small and it learns slowly. "
        "LoRA commonly uses 1e-4 to 2e-4.",
    ),
    "help.rank": (
        "LoRA 的“容量”：给模型加的小矩阵有多宽。越大能学的越多，适配器文件越大、训练越慢。常用 8–16。",
        "LoRA's capacity: how wide the small matrices added to the model are. Bigger learns more but makes a larger, "
        "slower-to-train adapter. 8–16 is common.",
    ),
    "help.alpha": (
        "LoRA 改动的放大倍数，实际效果约为 alpha ÷ r。通常设为 r 的 2 倍。",
        "How strongly the LoRA change is applied; the effect scales with alpha ÷ r. Usually twice r.",
    ),
    "help.dropout": (
        "训练时随机忽略一部分 LoRA 权重的比例，防止死记硬背。0.05–0.1 常用；数据很少时可以稍高。",
        "The share of LoRA weights randomly ignored during training, against learning by rote. 0.05–0.1 is common.",
    ),
    "help.max_length": (
        "每条训练记录最多用多少个 token，超出的部分被截掉。越长越占内存。",
        "The most tokens of each record used for training; the rest is cut. Longer needs more memory.",
    ),
    "help.batch": (
        "一次同时学习几条记录。越大越快，但越占内存。",
        "How many records are learned at once. Bigger is faster but needs more memory.",
    ),
    "help.accum": (
        "累积几批之后才更新一次模型，相当于在不多占内存的情况下用更大的批。有效批大小 = 批大小 × 梯度累积。",
        "Update the model once every this many batches: a bigger batch without the memory. Effective batch = batch size × this.",
    ),
    "help.val": (
        "留出一部分记录不参与训练，只用来检查模型是否真的学会了（验证损失）。数据很少时可以设为 0。",
        "Records kept out of training and used only to check that the model really learned (validation loss). 0 for tiny datasets.",
    ),
    "help.max_records": (
        "只用数据集的前这么多条，先快速试一试。0 = 全部。",
        "Use only the first this many records, for a quick try. 0 = all.",
    ),
    "help.targets": (
        "LoRA 加在模型的哪些层上。q_proj / k_proj / v_proj / o_proj 是注意力层（决定关注哪些词），"
        "gate_proj / up_proj / down_proj 是前馈层（存放知识）。默认已按模型结构选好，一般不用改。",
        "Which of the model's layers get LoRA. q_proj / k_proj / v_proj / o_proj are attention layers (which words to look at), "
        "gate_proj / up_proj / down_proj are feed-forward layers (where knowledge sits). The default fits the architecture; "
        "usually leave it.",
    ),
    # compare
    "help.variants": (
        "基座模型 = 不加任何适配器的原始模型（适配器被完全绕开，disable_adapter，而不是把它的权重调成 0）；"
        "其余是你训练或导入的 LoRA 适配器。",
        "The base model = the original model with every adapter bypassed (disable_adapter, not an adapter scaled to zero); "
        "the others are LoRA adapters you trained or imported.",
    ),
    "help.tally": (
        "胜率 = 前者赢的票 ÷ 分出胜负的票。95% Wilson 置信区间表示“真实胜率很可能落在这个范围里”：票越少，范围越宽；"
        "如果范围跨过 50%，就还不能说谁更好。",
        "Win rate = the first's wins ÷ decisive votes. The 95% Wilson confidence interval is the range the true win rate very "
        "likely lies in: fewer votes give a wider range; while it spans 50% you cannot yet say which is better.",
    ),
}
