"""Configuration errors: terminal, reported with the setting's name, the value given and what was expected."""

from __future__ import annotations

from dataclasses import dataclass

from modpipe.errors import TerminalError


@dataclass(frozen=True)
class SettingsProblem:
    setting: str
    given: str
    expected: str
    source: str

    def __str__(self) -> str:
        where = f" (from {self.source})" if self.source else ""
        return f"setting {self.setting}{where}: got {self.given}; expected {self.expected}"


class SettingsError(TerminalError):
    def __init__(self, problems: list[SettingsProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
