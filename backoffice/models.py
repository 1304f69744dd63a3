"""Imports every model module, so that the metadata (and so migrations) know every table."""

from backoffice.inquiries import models as inquiries_models
from backoffice.mail import models as mail_models

__all__ = ["inquiries_models", "mail_models"]
