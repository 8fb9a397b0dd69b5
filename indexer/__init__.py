"""The write path: read corpus files, clean and structure them, analyse the text, build the index.

Nothing in this package imports Flask or `search_app`; what the read side also needs (analyzer,
schema, location, document store, errors) is in `speechindex`.
"""
