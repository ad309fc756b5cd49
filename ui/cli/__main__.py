"""`python -m ui.cli`: the `clinassist` command."""

from ui.cli.main import main

if __name__ == "__main__":
    main()
