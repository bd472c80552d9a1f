# make study: a virtual environment with the CPU build of torch and the project, then the main study.
# make test:  exactly what CI runs (.ci/run): SLURM and munge, a fresh environment, the test suite.
#
# DATA: the folder holding cifar-10-batches-py (downloaded there, MD5-checked, when absent and online).
# TORCH_PIP_ARGS: extra pip arguments for torch, e.g. --index-url https://download.pytorch.org/whl/cpu
# where pip would otherwise pick a CUDA build.
PYTHON ?= python3
VENV ?= .venv
DATA ?= $(if $(wildcard ../shared/data),../shared/data,data)
TORCH_PIP_ARGS ?=

.PHONY: study test

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet torch==2.13.0 $(TORCH_PIP_ARGS)
	$(VENV)/bin/python -m pip install --quiet -e '.[test,fid,docs]'
	touch $@

study: $(VENV)/.installed
	$(VENV)/bin/python -m studies.extragradient_cifar10 with data.root=$(DATA)

test:
	.ci/run
