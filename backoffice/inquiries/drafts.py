"""The public form's server-side drafts (between 入力 and 確認, and the files chosen at 入力)."""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.db import utcnow
from backoffice.extensions import db


class InquiryDraft(db.Model):
    """What the requester entered, kept on the server between 入力 and 確認 (too large for a cookie).

    The cookie session holds only the draft's random key; the key then becomes the ticket's submission key.
    """

    __tablename__ = "inquiry_drafts"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
