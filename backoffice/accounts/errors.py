"""What the account services refuse, each with the form field it concerns (see domain_errors)."""

from backoffice.domain_errors import DomainError


class AccountError(DomainError):
    """`str(error)` is the Japanese message for the user."""


class LoginFailed(AccountError):
    """Unknown ID, wrong password or a locked account: one answer for all of them."""

    def __init__(self) -> None:
        super().__init__(
            "＊ID（メールアドレス）またはパスワードが正しくありません。"
            "続けて間違えると、しばらくログインできなくなります。"
        )


class InitialPasswordExpired(AccountError):
    field = "current"  # at the password change; the login page shows it above the form

    def __init__(self) -> None:
        super().__init__(
            "＊初期パスワードの有効期限が切れています。医療機関の方はお問い合わせフォームから、"
            "追加されたユーザの方は登録者の方（マイページ）に、初期パスワードの再発行を依頼してください。"
        )


class WrongCurrentPassword(AccountError):
    """The password asked again before a change (of the password, of the email address)."""

    def __init__(self, field: str) -> None:
        super().__init__("＊現在のパスワードが正しくありません。", field=field)


class UserLimitReached(AccountError):
    pass


class EmailTaken(AccountError):
    field = "email"

    def __init__(self) -> None:
        super().__init__(
            "＊このメールアドレスは、すでにほかのユーザが使っています。別のメールアドレスを入力してください。"
        )


class UserNotFound(AccountError):
    def __init__(self) -> None:
        super().__init__("ユーザが見つかりません。")
