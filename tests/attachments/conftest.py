from tests.admin.conftest import inquiry, signed_in

__all__ = ["inquiry", "signed_in"]
