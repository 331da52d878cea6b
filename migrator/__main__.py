"""``python -m migrator`` runs the command-line tool."""

from migrator.cli import main

if __name__ == "__main__":
    main()
