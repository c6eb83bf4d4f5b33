"""Python's JSON parser explains itself in English ("Expecting ',' delimiter"): the same as a `Message`,
so the Chinese UI reads it in Chinese (texts: keys "errors.json.*" in core/i18n/errors.py)."""

from __future__ import annotations

from core.i18n import Message, msg

_KEYS = {
    "Expecting value": "errors.json.expecting_value",
    "Expecting ',' delimiter": "errors.json.expecting_delimiter",
    "Expecting ':' delimiter": "errors.json.expecting_colon",
    "Expecting property name enclosed in double quotes": "errors.json.expecting_property_name_enclosed",
    "Unterminated string starting at": "errors.json.unterminated_string_starting_at",
    "Invalid control character at": "errors.json.invalid_control_character_at",
    "Invalid \\escape": "errors.json.invalid_escape",
    "Invalid \\uXXXX escape": "errors.json.invalid_uxxxx_escape",
    "Extra data": "errors.json.extra_data",
    "Illegal trailing comma before end of object": "errors.json.trailing_comma_object",
    "Illegal trailing comma before end of array": "errors.json.trailing_comma_array",
}


def json_reason(text: str) -> Message:
    """A `json.JSONDecodeError.msg` as a message: English as Python words it, Chinese from the table
    (a generic phrase for one not listed)."""
    return msg(_KEYS.get(text, "errors.json.other"), text=text)
