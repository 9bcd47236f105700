"""How the driver's answers carry Spark's values and errors (the protocol is in driver.py).

Values are JSON-safe and exact: DECIMAL and BIGINT as text, TIMESTAMP as ISO-8601 UTC with
microseconds, DATE as YYYY-MM-DD, NULL as null. An error is its exception's message, one line.
"""

import base64
import datetime
import decimal
import math


def table(frame):
    fields = frame.schema.fields
    rows = frame.collect()
    return {
        "columns": [field.name for field in fields],
        "types": [field.dataType.simpleString() for field in fields],
        "rows": [[value_json(value, field.dataType) for value, field in zip(row, fields)] for row in rows],
    }


def value_json(value, data_type):
    from pyspark.sql import types as T

    if value is None:
        return None
    if isinstance(data_type, T.LongType):
        return str(value)
    if isinstance(data_type, T.DecimalType):
        return decimal_text(value, data_type.scale)
    if isinstance(data_type, T.TimestampNTZType):
        return value.isoformat(timespec="microseconds")
    if isinstance(data_type, T.TimestampType):
        return utc_text(value)
    if isinstance(data_type, T.DateType):
        return value.isoformat()
    if isinstance(data_type, (T.DoubleType, T.FloatType)):
        return value if math.isfinite(value) else str(value)
    if isinstance(data_type, T.BinaryType):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(data_type, T.ArrayType):
        return [value_json(item, data_type.elementType) for item in value]
    if isinstance(data_type, T.MapType):
        return {str(value_json(k, data_type.keyType)): value_json(v, data_type.valueType) for k, v in value.items()}
    if isinstance(data_type, T.StructType):
        return {field.name: value_json(value[field.name], field.dataType) for field in data_type.fields}
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    return value


# Enough digits for any DECIMAL(38, s): the default context (28) would round or refuse.
DECIMAL_CONTEXT = decimal.Context(prec=80)


def decimal_text(value, scale):
    """Plain digits at the column's scale: 0.00000001 at scale 8, never 1E-8 or 0.000000010."""
    return format(value.quantize(decimal.Decimal(1).scaleb(-scale), context=DECIMAL_CONTEXT), "f")


def utc_text(value):
    # The process runs in UTC (main), so a naive datetime from collect() is the UTC instant.
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds") + "Z"


def error_answer(error):
    from py4j.protocol import Py4JJavaError

    answer = {"ok": False, "kind": type(error).__name__}
    if isinstance(error, Py4JJavaError):
        java = error.java_exception
        answer["kind"] = java.getClass().getSimpleName()
        answer["error"] = with_root_cause(one_line(str(java.getMessage() or java.toString())), java)
        return answer
    message = getattr(error, "desc", None) or str(error)
    answer["error"] = one_line(message)
    get_class = getattr(error, "getErrorClass", None)
    if callable(get_class):
        try:
            if get_class():
                answer["errorClass"] = get_class()
            if error.getSqlState():
                answer["sqlState"] = error.getSqlState()
        except Exception:
            pass
    return answer


def with_root_cause(message, java):
    """The message, and the innermost cause's where the message leaves it out: a wrapper such as
    "Create namespace failed: market_data" says nothing of why (a warehouse path that is a file)."""
    cause, depth = java, 0
    while depth < 32 and cause.getCause() is not None:
        cause, depth = cause.getCause(), depth + 1
    if depth == 0:
        return message
    detail = one_line(str(cause.getMessage() or ""))
    if not detail or detail == "unknown error" or detail in message:
        return message
    return f"{message} ({cause.getClass().getSimpleName()}: {detail})"


def jvm_stack(error):
    """The JVM's stack trace, which PySpark's converted exceptions leave out of their Python one."""
    stack = getattr(error, "stackTrace", None) if not hasattr(error, "java_exception") else None
    return f"JVM stack trace:\n{stack}" if stack else ""


def one_line(text):
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else "unknown error"
