"""`python -m indexer`: parse / reindex / stats."""

from indexer.cli import main

raise SystemExit(main())
