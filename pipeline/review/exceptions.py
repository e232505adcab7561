"""Review-page failures."""


class ReviewError(Exception):
    pass


class UsersFileError(ReviewError):
    """The users file is missing, unreadable or malformed: the page cannot sign anyone in."""


class PublishFailed(ReviewError):
    """The decision could not be written to the decisions topic; the claim was released, the moderator may retry."""
