"""The contract between the write path (`indexer`) and the read path (`search_app`).

Everything both sides need lives here and only here: the analyzer (`analysis`: normalisation,
繁→简, segmentation; the same at index and query time), the tantivy schema, field names and
facet values (`schema`), the index location, generations and manifest (`location`), the
document store (`docstore`), exact counting (`counting`), duplicate signatures (`dedup`), the
index check (`check`), the error types (`errors`) and configuration defaults (`config`).
`indexer` writes through it, `search_app` reads through it; neither imports the other.
"""
