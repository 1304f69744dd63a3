"""Imports every model module, so that the metadata (and so migrations) know every table."""

from backoffice.audit import models as audit_models
from backoffice.inquiries import models as inquiries_models
from backoffice.mail import models as mail_models
from backoffice.operators import models as operators_models

__all__ = ["audit_models", "inquiries_models", "mail_models", "operators_models"]
