"""`python -m search_app`: search / trend / serve."""

from search_app.cli import main

raise SystemExit(main())
