"""Why a policy file was refused: the file, the line where known, and the path inside it."""

from __future__ import annotations


class PolicyError(Exception):
    """One or more problems in the policy set; each line names file, line and path."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))
