"""Local stack failures. All are terminal for the command that hit them: they name what to look at."""


class StackError(Exception):
    pass
