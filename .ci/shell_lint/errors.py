"""The one error of the checker: it could not run as asked (exit status 2), as opposed to findings (1)."""


class CheckError(Exception):
    """The check could not run as asked; the message says what to do."""
