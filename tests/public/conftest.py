from tests.admin.conftest import signed_in

__all__ = ["signed_in"]
