# Convenience wrapper around scripts/ (which wrap cmake + ninja).
.PHONY: all test asan fuzz demo bench clean
all:
	@scripts/build.sh >/dev/null
test:
	scripts/test.sh
asan:
	scripts/test.sh --asan
fuzz:
	scripts/fuzz.sh 60
demo:
	scripts/demo.sh
bench: all
	@for b in build/bench_*; do echo "== $$b"; $$b || exit 1; done
clean:
	rm -rf build build-asan build-fuzz
