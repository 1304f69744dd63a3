"""Log lines that no value can forge: whatever a record carries, its message stays on its own line.

A request path, a typed email address or an error from a mail server may contain CR, LF or other
control characters; written out as they come, `/x\\r\\n2026-… INFO … 200 OK` would read as a second
record. SingleLineFormatter escapes them in the formatted message (`\\r`, `\\n`, `\\x1b` …), so one
record's message is always one line. A traceback stays a readable block of lines, each indented, so
that only the first line of a record starts at the left margin (where a log reader or a multi-line
rule such as `^\\s` expects a new record to begin); its other control characters are escaped as well.
"""

import logging

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Put before each line of a traceback or a stack: no line of one can look like the start of a record.
INDENT = "    "


def _escapes() -> dict[int, str]:
    # C0 and C1 controls and DEL, and the Unicode line and paragraph separators: every character that
    # some reader, terminal or `str.splitlines` takes as the end of a line or a control sequence.
    table = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}
    table |= {0x2028: "\\u2028", 0x2029: "\\u2029"}
    table |= {ord("\r"): "\\r", ord("\n"): "\\n", ord("\t"): "\\t"}
    return table


_ESCAPES = _escapes()
# In a traceback the line feeds are its own structure; every other control is escaped.
_BLOCK_ESCAPES = {c: e for c, e in _ESCAPES.items() if c != ord("\n")}


def one_line(text: str) -> str:
    """`text` with every line break and control character escaped."""
    return text.translate(_ESCAPES)


def indented_block(text: str) -> str:
    """`text` (a traceback, a stack) as lines that each start with INDENT, other controls escaped."""
    return "\n".join(INDENT + line for line in text.translate(_BLOCK_ESCAPES).split("\n"))


class SingleLineFormatter(logging.Formatter):
    """A Formatter whose formatted message is one line, followed by any traceback and stack indented."""

    def format(self, record: logging.LogRecord) -> str:
        # logging.Formatter.format, with the message escaped and the traceback indented. The traceback
        # is cached on the record unindented, as logging does (another handler may format it too), and
        # indented here, whoever cached it.
        record.message = record.getMessage()
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        lines = [one_line(self.formatMessage(record))]
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            lines.append(indented_block(record.exc_text))
        if record.stack_info:
            lines.append(indented_block(self.formatStack(record.stack_info)))
        return "\n".join(lines)


def install(level: int = logging.INFO) -> None:
    """Log to stderr through SingleLineFormatter at `level`, as `logging.basicConfig` does: nothing
    changes when the root logger has handlers already (someone else configured logging)."""
    handler = logging.StreamHandler()
    handler.setFormatter(SingleLineFormatter(FORMAT))
    logging.basicConfig(level=level, handlers=[handler])
