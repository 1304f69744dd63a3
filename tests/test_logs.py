"""Log lines: a CR/LF (or any control character) in a logged value never starts a forged record."""

import io
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from backoffice import create_app
from backoffice.logs import FORMAT, INDENT, SingleLineFormatter, install
from tests.builders.app import app_config

FORGED = "\r\nFAKE 200 OK"


def record(msg: str, *args: object, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("backoffice.errors", logging.INFO, __file__, 1, msg, args, exc_info)


def formatted(rec: logging.LogRecord) -> str:
    return SingleLineFormatter(FORMAT).format(rec)


def test_a_crlf_in_an_argument_stays_on_the_record_s_own_line() -> None:
    line = formatted(record("unhandled error on %s %s", "GET", f"/inquiry{FORGED}"))
    assert line.splitlines() == [line]
    assert "\r" not in line
    assert "\n" not in line
    assert line.endswith("backoffice.errors: unhandled error on GET /inquiry\\r\\nFAKE 200 OK")


def test_a_crlf_in_the_message_itself_is_escaped_too() -> None:
    line = formatted(record(f"typed email yamada@example.jp{FORGED}"))
    assert line.splitlines() == [line]
    assert line.endswith("yamada@example.jp\\r\\nFAKE 200 OK")


@pytest.mark.parametrize(
    "control",
    [
        "\n",
        "\r",
        "\x0b",
        "\x0c",
        "\x1c",
        "\x1d",
        "\x1e",
        "\x85",
        "\u2028",
        "\u2029",
        "\x1b[2K",
        "\0",
    ],
)
def test_every_line_break_and_control_character_is_escaped(control: str) -> None:
    line = formatted(record("login failed for %s", f"a{control}2026-01-01 INFO forged"))
    assert line.splitlines() == [line]
    assert control not in line
    assert line.isprintable()


def test_plain_text_and_japanese_are_left_as_they_are() -> None:
    line = formatted(record("inquiry %s received (%s)", "AB12-CD34", "お問い合わせ"))
    assert line.endswith("inquiry AB12-CD34 received (お問い合わせ)")


def raised(message: str) -> tuple:
    try:
        raise ValueError(message)
    except ValueError:
        return sys.exc_info()


def test_a_traceback_stays_readable_and_every_line_of_it_is_indented() -> None:
    rec = record("mail %s not sent: %s", 7, f"bad{FORGED}", exc_info=raised(f"boom{FORGED}"))
    first, *rest = formatted(rec).split("\n")
    assert first.endswith("mail 7 not sent: bad\\r\\nFAKE 200 OK")
    assert rest[0] == f"{INDENT}Traceback (most recent call last):"
    assert any(line.startswith(f"{INDENT}  File ") for line in rest)
    # The exception's own message keeps its line break, indented like the rest, its CR escaped: no
    # line but the first starts at the margin, where a record starts.
    assert f"{INDENT}ValueError: boom\\r" in rest
    assert f"{INDENT}FAKE 200 OK" in rest
    assert all(line.startswith(INDENT) for line in rest)
    assert "\r" not in "".join(rest)


def test_a_traceback_cached_by_another_formatter_is_indented_too() -> None:
    rec = record("failed", exc_info=raised(f"boom{FORGED}"))
    logging.Formatter().format(rec)  # another handler of the same record went first
    assert rec.exc_text
    _first, *rest = formatted(rec).split("\n")
    assert rest
    assert all(line.startswith(INDENT) for line in rest)


def test_a_stack_is_indented() -> None:
    rec = record("where am I")
    rec.stack_info = "Stack (most recent call last):\n  File 'x', line 1\nFAKE 200 OK"
    _first, *rest = formatted(rec).split("\n")
    assert rest == [
        f"{INDENT}Stack (most recent call last):",
        f"{INDENT}  File 'x', line 1",
        f"{INDENT}FAKE 200 OK",
    ]


@contextmanager
def bare_root_logger() -> Iterator[logging.Logger]:
    """The root logger without handlers, as in a fresh process (pytest puts its own there for each
    test's call, so this runs inside the test)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    root.handlers.clear()
    try:
        yield root
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers[:] = handlers
        root.setLevel(level)


def test_the_app_outside_testing_logs_through_the_single_line_formatter(tmp_path) -> None:
    stream = io.StringIO()
    with bare_root_logger() as root:
        create_app(app_config(f"sqlite:///{tmp_path / 'app.sqlite3'}", TESTING=False))
        [handler] = root.handlers
        assert isinstance(handler.formatter, SingleLineFormatter)
        assert root.level == logging.INFO
        handler.setStream(stream)  # type: ignore[attr-defined]
        logging.getLogger("backoffice.errors").info("CSRF refused on POST %s", f"/login{FORGED}")
    [line] = stream.getvalue().splitlines()
    assert line.endswith("backoffice.errors: CSRF refused on POST /login\\r\\nFAKE 200 OK")


def test_logging_someone_else_configured_is_left_alone() -> None:
    theirs = logging.StreamHandler(io.StringIO())
    with bare_root_logger() as root:
        root.addHandler(theirs)
        install()
        assert root.handlers == [theirs]
    assert theirs.formatter is None
