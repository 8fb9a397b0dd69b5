"""The write path: read corpus files, clean and structure them, analyse the text, build the index.

Nothing in this package imports Flask; `search_app` imports `indexer.analysis` and
`indexer.schema` (the shared analyzer and schema) and reads what `indexer.build` writes.
"""
