"""``python -m casesvc …``: the ``casesvc`` command, wherever casesvc is installed."""

from casesvc.cli import main

if __name__ == "__main__":  # not when a spawned worker re-imports the main module
    main()
