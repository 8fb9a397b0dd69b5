# The two README commands: `make run` (index ./corpus and serve on 127.0.0.1:8000) and `make test`.
INDEX ?= var/index
CORPUS ?= corpus
PORT ?= 8000

.PHONY: run test index bench clean

run:
	bash scripts/setup.sh
	.venv/bin/python -m indexer reindex --corpus $(CORPUS) --index $(INDEX)
	.venv/bin/python -m search_app serve --index $(INDEX) --host 127.0.0.1 --port $(PORT)

index:
	bash scripts/setup.sh
	.venv/bin/python -m indexer reindex --corpus $(CORPUS) --index $(INDEX) --incremental

test:
	bash scripts/setup.sh test
	.venv/bin/ruff check .
	.venv/bin/mypy
	.venv/bin/python -m pytest -q

bench:
	bash scripts/setup.sh bench
	.venv/bin/python -m bench --quick

clean:
	rm -rf var .pytest_cache test-artifacts
