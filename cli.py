"""The repository's entry to the ``casesvc`` command: ``python cli.py …`` runs what the
installed ``casesvc`` runs. The command lives in casesvc/cli/; this file is not installed."""

from casesvc.cli import main

if __name__ == "__main__":
    main()
