"""The requester's own words in a reply: our quoted mail and their signature cut off.

Every mail to a requester starts with REPLY_MARKER (when replies by mail are on), so whatever their
mail program does with the quote, the marker tells where our mail begins, with or without `> `.
The rest is mail-parser-reply's work, for Japanese and English mail programs: the attribution line
(「2026年12月1日(火) 10:00 … <…>:」, "On … wrote:"), Outlook's header block and
"-----Original Message-----", and the signature. Two structural rules remain ours, both about
quoting and not about any language: the attribution line right above the marker, and a block of
`>`-quoted lines at the end.
"""

from mailparser_reply import EmailReplyParser
from mailparser_reply.constants import MAIL_LANGUAGES

# The parser's Japanese entry knows Gmail's attribution line but only the English names of the
# header block that Outlook puts above a quote; Japanese Outlook writes 差出人/送信日時/宛先/件名.
# Its own pattern, with those names as well (the parser's table is where languages are defined).
_JA = MAIL_LANGUAGES["ja"]
if "差出人" not in _JA["from_header"]:
    _JA["from_header"] = _JA["from_header"].replace(
        "(?:From|Sent|To|Subject|Date|Cc)",
        "(?:From|Sent|To|Subject|Date|Cc|差出人|送信者|送信日時|日付|宛先|件名|CC)",
    )

REPLY_MARKER = "―――― このメールに返信される場合は、この行より上にご記入ください ――――"

_PARSER = EmailReplyParser(languages=["ja", "en"])
_MARKER_TEXT = REPLY_MARKER.strip("― ")


def trim(text: str) -> str:
    """The new part of a reply (maybe empty: a reply that only quotes)."""
    lines = text.replace("\r\n", "\n").split("\n")
    marked = next((i for i, line in enumerate(lines) if _MARKER_TEXT in line), None)
    if marked is not None:
        lines = lines[:marked]
        while lines and not lines[-1].strip(" >"):
            lines.pop()
        # The mail program's attribution line ("… のメール:", "… wrote:") stands right above the quote.
        if lines and lines[-1].rstrip().endswith((":", "：")):
            lines.pop()
    replies = _PARSER.read("\n".join(lines)).replies
    kept = (replies[0].body if replies else "").split("\n")
    while kept and (not kept[-1].strip() or kept[-1].lstrip().startswith(">")):
        kept.pop()
    return "\n".join(kept).strip()
