"""The one exception type for user mistakes: what is wrong, and how to fix it."""


class LadderError(Exception):
    """A problem the user can fix; the CLI prints it as one sentence plus the fix and exits 2."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(f"{problem} {fix}")
        self.problem = problem
        self.fix = fix
