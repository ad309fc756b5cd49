"""Interaction knowledge: the tables one interaction check consults, the default (ONC) first."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tools.interactions.table_files import InteractionDataError
from tools.interactions.tables import InteractionTable


@dataclass(frozen=True, eq=False)
class InteractionKnowledge:
    """The tables one interaction check consults, the default (ONC) table first."""

    tables: tuple[InteractionTable, ...]

    def __post_init__(self) -> None:
        if not self.tables:
            raise InteractionDataError("No drug-interaction table is configured.")

    @classmethod
    def load(
        cls,
        primary_dir: Path | None,
        extra_dirs: Sequence[Path] = (),
        *,
        include_informational: bool = False,
    ) -> InteractionKnowledge:
        """The ONC list of `primary_dir` (when given) and the tables of `extra_dirs` (table
        format), each read once per process; raises `InteractionDataError` for any bad one."""
        tables: list[InteractionTable] = []
        if primary_dir is not None:
            tables.append(
                InteractionTable.load(primary_dir, include_informational=include_informational)
            )
        for folder in extra_dirs:
            table = InteractionTable.load_table(folder)
            if all(table is not other for other in tables):
                tables.append(table)
        return cls(tuple(tables))

    @classmethod
    def of(cls, tables: InteractionTable | InteractionKnowledge) -> InteractionKnowledge:
        return tables if isinstance(tables, InteractionKnowledge) else cls((tables,))

    @functools.cached_property
    def names(self) -> frozenset[str]:
        return frozenset(name for table in self.tables for name in table.names)

    @property
    def source(self) -> str:
        return self.tables[0].source

    @property
    def license(self) -> str:
        return self.tables[0].license

    @property
    def scope(self) -> str:
        """What was checked, naming every table, and that no flag never means safe."""
        scopes = [table.scope for table in self.tables]
        listed = scopes[0] if len(scopes) == 1 else ", ".join(scopes[:-1]) + " and " + scopes[-1]
        return (
            f"Only pairs on {listed} and a small allergy-class map were checked; no flag does "
            "not mean a combination is safe."
        )

    def canonical(self, key: str) -> str | None:
        """The first table's name for a normalised name."""
        for table in self.tables:
            found = table.canonical(key)
            if found is not None:
                return found
        return None

    def knows(self, name: str) -> bool:
        return name in self.names


# What a check, or a reading of a plan's wording, may be given: one table or several.
Tables = InteractionTable | InteractionKnowledge
