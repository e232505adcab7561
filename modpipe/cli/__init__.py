"""The `modpipe` command line."""
