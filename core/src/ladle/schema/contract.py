"""Schema contracts: how far data may change the schema of a table.

`evolve` accepts the change, `freeze` raises `ContractViolation`, `discard_row` drops the rows
that would change the schema, `discard_value` drops only the offending values. Each of the three
entities (`tables`, `columns`, `data_type`) has its own mode; a single string sets all three.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, get_args

from ladle.errors import ConfigError

ContractMode = Literal["evolve", "freeze", "discard_row", "discard_value"]
CONTRACT_MODES = frozenset(get_args(ContractMode))
CONTRACT_ENTITIES = ("tables", "columns", "data_type")


@dataclass(frozen=True)
class SchemaContract:
    tables: ContractMode = "evolve"
    columns: ContractMode = "evolve"
    data_type: ContractMode = "evolve"

    @classmethod
    def parse(cls, value: SchemaContractLike, *, owner: str) -> SchemaContract | None:
        """From `"freeze"` or `{"columns": "freeze", ...}`; `owner` names it in errors."""
        if value is None or isinstance(value, SchemaContract):
            return value
        if isinstance(value, str):
            return cls(**{entity: _mode(value, owner, entity) for entity in CONTRACT_ENTITIES})
        if isinstance(value, Mapping):
            unknown = set(value) - set(CONTRACT_ENTITIES)
            if unknown:
                raise ConfigError(
                    f"schema_contract of {owner}: unknown entity {sorted(unknown)}; "
                    f"use {list(CONTRACT_ENTITIES)}",
                    key="schema_contract",
                )
            return cls(**{entity: _mode(mode, owner, entity) for entity, mode in value.items()})
        raise ConfigError(
            f"schema_contract of {owner} must be a mode string or a dict, not {value!r}",
            key="schema_contract",
        )

    def to_dict(self) -> dict[str, str]:
        return {"tables": self.tables, "columns": self.columns, "data_type": self.data_type}

    def overlaid_with(self, other: SchemaContract | None) -> SchemaContract:
        """`other` (a resource's contract) wins over `self` (the source's)."""
        return other or self


SchemaContractLike = str | Mapping[str, str] | SchemaContract | None


def _mode(value: object, owner: str, entity: str) -> ContractMode:
    if value not in CONTRACT_MODES:
        raise ConfigError(
            f"schema_contract of {owner}: {entity}={value!r} is not one of "
            f"{sorted(CONTRACT_MODES)}",
            key="schema_contract",
        )
    return value  # type: ignore[return-value]
