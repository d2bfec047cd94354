# perpmon — every target bootstraps its own virtualenv; nothing depends on a hand-made install.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
LOCK   := requirements/dev.lock
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml $(LOCK) | cksum | cut -d' ' -f1)
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run shock test check lint typecheck bench fmt system-deps clean dashboards lock

# Installs exactly the hash-pinned versions of requirements/dev.lock, then perpmon itself without
# resolving anything again: every machine (and CI) runs the same bytes. `make lock` refreshes it.
$(STAMP): pyproject.toml $(LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@rm -f $(VENV)/.installed-*
	@touch $@

## run: start the daemon on the embedded default (simulator replaying the 2021-05-19 crash)
run: $(STAMP)
	set -a; . deploy/simulator.env; set +a; OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 exec $(BIN)/perpmon run --config config.toml

## shock: move the market of the simulator `make run` watches (needs admin_port = 9119 in config.toml);
##        e.g. `make shock MOVE=0.2 OVER=60`. The admin API wants the token the daemon wrote to var/.
ADMIN_PORT ?= 9119
MOVE       ?= -0.2
OVER       ?= 60
shock:
	@curl -fsS -X POST -H "Authorization: Bearer $$(cat var/sim-admin.token)" \
	  -d '{"move": $(MOVE), "over_s": $(OVER)}' http://127.0.0.1:$(ADMIN_PORT)/admin/shock; echo

## system-deps: Debian packages the tests start throwaway instances of (promtool, prometheus, …)
system-deps:
	@missing=""; \
	command -v promtool >/dev/null || missing="$$missing prometheus"; \
	command -v mosquitto >/dev/null || missing="$$missing mosquitto"; \
	command -v prometheus >/dev/null || missing="$$missing prometheus"; \
	command -v amtool >/dev/null || missing="$$missing prometheus-alertmanager"; \
	command -v prometheus-alertmanager >/dev/null || missing="$$missing prometheus-alertmanager"; \
	command -v systemd-analyze >/dev/null || missing="$$missing systemd"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	{ docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null; } || missing="$$missing docker-compose"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

## test: install everything needed, then lint, type-check and run the whole suite
test: $(STAMP) system-deps
	$(BIN)/ruff check monitor tools tests bench
	$(BIN)/mypy
	$(BIN)/pytest -q -p no:cacheprovider

check: $(STAMP) system-deps
	$(BIN)/ruff check monitor tools tests bench
	$(BIN)/mypy

## dashboards: regenerate grafana/dashboards/*.json from tools/dashboards/boards.py
dashboards: $(STAMP)
	$(BIN)/python -m tools.dashboards

bench: $(STAMP)
	@for f in bench/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

fmt: $(STAMP)
	$(BIN)/ruff check --fix monitor tools tests bench
	$(BIN)/ruff format monitor tests bench

## lock: re-resolve pyproject.toml's dependencies into the hash-pinned lock files (needs PyPI)
lock:
	@test -x .venv-lock/bin/uv || { $(PYTHON) -m venv .venv-lock && .venv-lock/bin/pip install --quiet uv; }
	.venv-lock/bin/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes \
	  --no-header --quiet -o requirements/runtime.lock
	.venv-lock/bin/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
	  --generate-hashes --no-header --quiet -o requirements/dev.lock

clean:
	rm -rf $(VENV) .venv-lock .pytest_cache .mypy_cache .ruff_cache var
