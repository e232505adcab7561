"""modpipe core: settings, message contracts, clock, the local stack and the command line."""

__version__ = "0.1.0"
