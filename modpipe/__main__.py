"""`python -m modpipe` runs the command line (the demo starts its workers this way)."""

from modpipe.cli.main import main

if __name__ == "__main__":
    main()
