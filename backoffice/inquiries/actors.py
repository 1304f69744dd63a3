"""Who acts on a ticket: an operator (backoffice.operators.operations.OperatorActor), the requester,
or the sweep. History entries and audit events take any of them."""

from dataclasses import dataclass

from backoffice.operators.operations import OperatorActor


@dataclass(frozen=True)
class ProductActor:
    """Someone who is not an operator: `kind` is the audit log's actor type."""

    label: str
    kind: str
    id: None = None

    def audit(self) -> dict[str, object]:
        return {"actor_type": self.kind, "actor_label": self.label}


Actor = OperatorActor | ProductActor

REQUESTER = ProductActor("依頼者", "requester")
SWEEP = ProductActor("自動処理", "system")
