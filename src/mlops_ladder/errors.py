"""The one exception type for user mistakes (what is wrong, and how to fix it), and the exit codes."""

from enum import IntEnum


class ExitCode(IntEnum):
    """What a command's exit status means; docs/upgrade.md lists them for users."""

    SUCCESS = 0
    CONFLICTS = 1  # upgrade stopped on conflicts for the team to resolve; finish with `git commit`
    REFUSED = 2  # a user mistake or unsafe state was refused before anything changed
    FAILED = 3  # something failed unexpectedly; everything was put back as it was


class LadderError(Exception):
    """A problem the user can fix; the CLI prints it as one sentence plus the fix and exits 2."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(f"{problem} {fix}")
        self.problem = problem
        self.fix = fix
