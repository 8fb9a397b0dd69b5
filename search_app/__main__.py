"""`python -m search_app`: search / trend / serve."""

from search_app.cli import main

# Guarded: the server's worker processes (spawned) import this module again as __mp_main__.
if __name__ == "__main__":
    raise SystemExit(main())
