"""The 「添付ファイル」 input every form that takes files shares; the server checks the files."""

from typing import Any

from wtforms import MultipleFileField

from backoffice.attachments.operations import Upload
from backoffice.attachments.web import uploads

LABEL = "添付ファイル"


class AttachmentsField(MultipleFileField):
    """Several files in one input; `uploads()` gives those actually chosen."""

    def __init__(self, label: str = LABEL, **kwargs: Any) -> None:
        super().__init__(label, **kwargs)

    def uploads(self) -> list[Upload]:
        return uploads(self.data or [])
