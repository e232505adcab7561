"""Pipeline failures, split as dlt does: terminal ones go to the dead-letter topic, transient ones are retried."""


class PipelineError(Exception):
    pass


class TerminalError(PipelineError):
    """This input can never succeed (bad bytes, classifier rejects it): dead-letter it and go on."""


class TransientError(PipelineError):
    """A dependency is unavailable (broker, S3, Elasticsearch): back off and retry; never drop the input."""


class StartupError(PipelineError):
    """The worker cannot start: wrong or unreachable broker, missing topics. Names the setting to fix."""
