# Practice Exchange Hub — the two commands of the README:
#   make run    install, prepare database, catalogues, demo content and search index, then serve with the worker
#               (PORT=5001 make run for another port)
#   make test   install test extras and the system packages the suite needs, then run the whole suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask
export FLASK_APP := wsgi
# Debian packages the test suite needs: the browser, CJK fonts for screenshots, a database server,
# and nginx, the buffering proxy of the documented deployment (tested against slow clients).

.PHONY: run test install install-test system-packages prepare serve worker translations clean

run: install prepare serve

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(VENV)/bin/activate setup.cfg pyproject.toml
	$(PY) -m pip install --quiet --disable-pip-version-check -e .
	touch $@

# bovine pins an older cryptography than ours; its code works with ours, so it goes in without deps.
BOVINE := bovine==0.5.19 bovine-herd==0.5.19 bovine-process==0.5.19 bovine-store==0.5.19 fediverse-pasture==0.2.25

$(VENV)/.installed-test: $(VENV)/.installed
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps $(BOVINE)
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

translations: export HUB_ENV ?= development
translations: install
	$(FLASK) translate compile

# PORT=5001 make run serves on another port (the hub's own address, HUB_BASE_URL, follows it).
PORT ?= 5000

# Development mode keeps a generated secret key in instance/; production sets HUB_SECRET_KEY.
prepare: export HUB_ENV ?= development
prepare: export HUB_BASE_URL ?= http://127.0.0.1:$(PORT)
prepare: translations
	$(FLASK) hub init
	$(FLASK) hub demo
	$(FLASK) hub reindex

serve: export HUB_ENV ?= development
serve: export HUB_BASE_URL ?= http://127.0.0.1:$(PORT)
serve:
	@echo "Serving the hub at http://127.0.0.1:$(PORT) with the worker; Ctrl-C stops both."
	$(FLASK) hub serve --port $(PORT)

worker: export HUB_ENV ?= development
worker:
	$(FLASK) hub worker

system-packages:
	@missing=""; \
	[ -x /usr/lib/chromium/chromium ] || missing="$$missing chromium"; \
	dpkg -s fonts-noto-cjk >/dev/null 2>&1 || missing="$$missing fonts-noto-cjk"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	[ -x /usr/sbin/nginx ] || missing="$$missing nginx-light"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing system packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "The test suite needs these Debian packages:$$missing"; \
	    echo "Install them with: sudo apt-get install$$missing   (then run make test again)"; \
	    exit 1; \
	  fi; \
	fi

# The suite runs in one process per core (pytest-xdist); TEST_WORKERS=0 make test runs it in one process.
# --dist load hands out single tests (schemathesis gives all the tests of one function one id, which the scope and
# group modes would merge into one, leaving the others unrun).
TEST_WORKERS ?= auto

test: install-test system-packages translations
	$(PY) -m pytest -n $(TEST_WORKERS) --dist load

clean:
	rm -rf $(VENV) instance/ .pytest_cache
