# SAM's makefile build method (`sam build` calls `make build-<LogicalId>` with ARTIFACTS_DIR set).
# Builds an ARM64 (Graviton) artifact on any machine, without Docker: dependencies are installed
# as aarch64 wheels for the Lambda runtime's Python; only what the functions need is copied.

LAMBDA_PYTHON ?= 3.12
PLATFORMS := --platform manylinux2014_aarch64 --platform manylinux_2_28_aarch64
REQUIREMENTS := $(ARTIFACTS_DIR)/.requirements.txt

build-CollectorFunction build-MigrateFunction build-ShardCollectorFunction build-ApiFunction build-WebhookFunction \
build-WebhookCollectorFunction:
	python3 -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
	  deps = p["dependencies"] + p["optional-dependencies"]["lambda"]; print("\n".join(deps))' > "$(REQUIREMENTS)"
	python3 -m pip install --quiet --no-compile --disable-pip-version-check \
	  --target "$(ARTIFACTS_DIR)" $(PLATFORMS) --implementation cp --python-version $(LAMBDA_PYTHON) \
	  --only-binary=:all: -r "$(REQUIREMENTS)"
	rm -f "$(REQUIREMENTS)"
	# boto3 and botocore come with the Lambda runtime.
	rm -rf "$(ARTIFACTS_DIR)"/boto3 "$(ARTIFACTS_DIR)"/botocore "$(ARTIFACTS_DIR)"/bin
	mkdir -p "$(ARTIFACTS_DIR)/collector"
	cp collector/*.py collector/py.typed "$(ARTIFACTS_DIR)/collector/"
	mkdir -p "$(ARTIFACTS_DIR)/collector/api"
	cp collector/api/*.py "$(ARTIFACTS_DIR)/collector/api/"
	cp -r migrations "$(ARTIFACTS_DIR)/collector/migrations"
	cp -r sql "$(ARTIFACTS_DIR)/collector/sql"
	if [ -d teams ]; then cp -r teams "$(ARTIFACTS_DIR)/teams"; fi
	find "$(ARTIFACTS_DIR)" -name __pycache__ -type d -prune -exec rm -rf {} +

.PHONY: build-CollectorFunction build-MigrateFunction build-ShardCollectorFunction build-ApiFunction \
	build-WebhookFunction build-WebhookCollectorFunction
