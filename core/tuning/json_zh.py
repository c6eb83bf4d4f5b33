"""Python's JSON parser explains itself in English ("Expecting ',' delimiter"): the same, in Chinese."""

from __future__ import annotations

_ZH = {
    "Expecting value": "这里缺少一个值（可能多了逗号，或字符串没有加双引号）",
    "Expecting ',' delimiter": "这里缺少逗号 ','",
    "Expecting ':' delimiter": "这里缺少冒号 ':'",
    "Expecting property name enclosed in double quotes": "键名必须用英文双引号括起来（也可能是多余的逗号）",
    "Unterminated string starting at": "字符串缺少结尾的双引号",
    "Invalid control character at": "字符串里有不允许的控制字符（如未转义的换行）",
    "Invalid \\escape": "无效的反斜杠转义",
    "Invalid \\uXXXX escape": "无效的 \\uXXXX 转义",
    "Extra data": "一个 JSON 值之后还有多余内容",
    "Illegal trailing comma before end of object": "对象末尾多了一个逗号",
    "Illegal trailing comma before end of array": "数组末尾多了一个逗号",
}


def json_error_zh(msg: str) -> str:
    """The Chinese of a `json.JSONDecodeError.msg`; a generic phrase for one not listed."""
    return _ZH.get(msg, "格式不正确")
