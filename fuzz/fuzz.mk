# fuzz/fuzz.mk — AFL++ fuzzing of ffdb (included by the Makefile).
#
#   make fuzz          build the harnesses with afl-clang-fast + ASan/UBSan and
#                      run afl-fuzz on all of them side by side for FUZZ_TIME
#                      seconds (default 4 h); findings in build/afl/out/
#   make fuzz-ops      / make fuzz-file / make fuzz-resp: one harness only (run
#                      them in separate shells for the effect of make fuzz)
#   make fuzz-smoke    CI: replay corpus + regressions under ASan/UBSan, then
#                      the harnesses under afl-fuzz, all at once for
#                      FUZZ_SMOKE_TIME seconds, sharing the cores; fails on any
#                      crash or hang
#   make fuzz-replay   only the replay part of fuzz-smoke
#   make fuzz-corpus   regenerate fuzz/corpus/ from fuzz/make_corpus.c
#
# More cores: one main and N secondary instances per harness, e.g.
#   afl-fuzz -M m -i fuzz/corpus/ops -o build/afl/out/ops -x fuzz/dict/ops.dict -- build/afl/fuzz/ops
#   afl-fuzz -S s1 -i fuzz/corpus/ops -o build/afl/out/ops -x fuzz/dict/ops.dict -- build/afl/fuzz/ops
# A crash is reproduced with build-asan/fuzz/<harness>-replay FILE and, once
# fixed, kept in fuzz/regress/<harness>/ (replayed by make test and make asan
# through tests/test_fuzz_regress.c and tests/test_fuzz_resp.c, and by
# fuzz-smoke). The resp harness (the RESP request parser of modules/resp) has
# hand-written seeds in fuzz/corpus/resp, not made by fuzz-corpus.

FUZZ_HARNESSES  = ops file resp rparse
FUZZ_SAN        = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_TIME       ?= 14400
FUZZ_SMOKE_TIME ?= 60
FUZZ_OUT        ?= build/afl/out
FUZZ_ENV        = AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
                  AFL_TRY_AFFINITY=1 AFL_AUTORESUME=1 AFL_SKIP_CRASHES=1 \
                  ASAN_OPTIONS=abort_on_error=1:symbolize=0:detect_leaks=0:allocator_may_return_null=0
FUZZ_AFL_FLAGS  = -m none -t 5000

.PHONY: fuzz fuzz-ops fuzz-file fuzz-resp fuzz-rparse fuzz-smoke fuzz-replay fuzz-build fuzz-corpus \
        fuzz-replay-bins fuzz-afl-bins

# ---- binaries (each built by a sub-make with its own BUILD and CC) ------------

FUZZ_REPLAY = $(FUZZ_HARNESSES:%=$(BUILD)/fuzz/%-replay)
FUZZ_AFL    = $(FUZZ_HARNESSES:%=$(BUILD)/fuzz/%)

$(BUILD)/fuzz/%-replay: fuzz/%.c fuzz/fuzz.h $(TESTING_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(TESTING_LIB) $(LIB) $(LDLIBS)

$(BUILD)/fuzz/%: fuzz/%.c fuzz/fuzz.h $(TESTING_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(TESTING_LIB) $(LIB) $(LDLIBS)

# The resp harness links the RESP parsers of modules/resp (and the text
# helpers of modules/net they use), which call nothing of the engine.
RESP_PROTO_LIBS = $(BUILD)/libffdb_resp.a $(BUILD)/libffdb_net.a
$(BUILD)/fuzz/resp-replay $(BUILD)/fuzz/resp: fuzz/resp.c fuzz/fuzz.h $(RESP_PROTO_LIBS) \
                                              $(TESTING_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(RESP_PROTO_LIBS) $(TESTING_LIB) $(LIB) $(LDLIBS)

# The reply parser harness (modules/resp/rparse.c), linked the same way.
$(BUILD)/fuzz/rparse-replay $(BUILD)/fuzz/rparse: fuzz/rparse.c fuzz/fuzz.h $(RESP_PROTO_LIBS) \
                                                  $(TESTING_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(RESP_PROTO_LIBS) $(TESTING_LIB) $(LIB) $(LDLIBS)

$(BUILD)/fuzz/make_corpus: fuzz/make_corpus.c $(TESTING_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(TESTING_LIB) $(LIB) $(LDLIBS)

fuzz-replay-bins: $(FUZZ_REPLAY)
fuzz-afl-bins: $(FUZZ_AFL)

# Replay programs: plain compiler, ASan + UBSan, next to the make asan objects.
fuzz-replay:
	$(MAKE) BUILD=build-asan OPT=-O1 PROG_LIBS= SAN="$(FUZZ_SAN)" CHECK_FLAGS="$(ASAN_CHECK_FLAGS)" \
	  fuzz-replay-bins
	@for h in $(FUZZ_HARNESSES); do \
	  ASAN_OPTIONS=abort_on_error=1 build-asan/fuzz/$$h-replay fuzz/corpus/$$h fuzz/regress/$$h || exit 1; \
	done

# AFL++ programs: afl-clang-fast, persistent mode, ASan + UBSan.
fuzz-build:
	AFL_USE_ASAN=1 AFL_USE_UBSAN=1 AFL_QUIET=1 $(MAKE) BUILD=build/afl CC=afl-clang-fast OPT=-O2 \
	  PROG_LIBS= SAN= fuzz-afl-bins

fuzz-corpus: lib $(TESTING_LIB) $(BUILD)/fuzz/make_corpus
	$(BUILD)/fuzz/make_corpus fuzz/corpus

# ---- fuzzing -------------------------------------------------------------------

# $(call fuzz_run,HARNESS,SECONDS): one afl-fuzz, one line (so it can be backgrounded)
fuzz_run = mkdir -p $(FUZZ_OUT) && $(FUZZ_ENV) afl-fuzz $(FUZZ_AFL_FLAGS) -V $(2) \
	  -i fuzz/corpus/$(1) -o $(FUZZ_OUT)/$(1) -x fuzz/dict/$(1).dict -- build/afl/fuzz/$(1) \
	  > $(FUZZ_OUT)/$(1).log 2>&1

fuzz-ops: fuzz-build
	$(call fuzz_run,ops,$(FUZZ_TIME))
	@fuzz/afl_report.sh $(FUZZ_OUT) ops

fuzz-file: fuzz-build
	$(call fuzz_run,file,$(FUZZ_TIME))
	@fuzz/afl_report.sh $(FUZZ_OUT) file

fuzz-resp: fuzz-build
	$(call fuzz_run,resp,$(FUZZ_TIME))
	@fuzz/afl_report.sh $(FUZZ_OUT) resp

fuzz-rparse: fuzz-build
	$(call fuzz_run,rparse,$(FUZZ_TIME))
	@fuzz/afl_report.sh $(FUZZ_OUT) rparse

fuzz: fuzz-build
	@echo "fuzz: $(FUZZ_HARNESSES) side by side for $(FUZZ_TIME) s; logs in $(FUZZ_OUT)/*.log"
	$(call fuzz_run,ops,$(FUZZ_TIME)) & \
	$(call fuzz_run,file,$(FUZZ_TIME)) & \
	$(call fuzz_run,resp,$(FUZZ_TIME)) & \
	$(call fuzz_run,rparse,$(FUZZ_TIME)) & \
	wait
	@fuzz/afl_report.sh $(FUZZ_OUT) $(FUZZ_HARNESSES)

# Replay first (no AFL needed); then a minute of each harness if AFL++ works here.
fuzz-smoke: fuzz-replay
	@if ! command -v afl-fuzz >/dev/null || ! command -v afl-clang-fast >/dev/null; then \
	  echo "************************************************************************"; \
	  echo "fuzz-smoke: AFL++ IS NOT INSTALLED: ran the replay part only (make deps)"; \
	  echo "************************************************************************"; \
	  exit 0; \
	fi; \
	if ! $(MAKE) fuzz-build; then \
	  echo "************************************************************************"; \
	  echo "fuzz-smoke: THE AFL++ BUILD FAILED HERE: ran the replay part only"; \
	  echo "************************************************************************"; \
	  exit 0; \
	fi; \
	rm -rf build/afl/smoke; \
	$(MAKE) --no-print-directory FUZZ_OUT=build/afl/smoke FUZZ_TIME=$(FUZZ_SMOKE_TIME) fuzz-smoke-run
	@fuzz/afl_report.sh build/afl/smoke $(FUZZ_HARNESSES)

.PHONY: fuzz-smoke-run
# The three share the cores for FUZZ_TIME (the smoke time): the total time
# stays what it was with two.
fuzz-smoke-run:
	$(call fuzz_run,ops,$(FUZZ_TIME)) & p1=$$!; \
	$(call fuzz_run,file,$(FUZZ_TIME)) & p2=$$!; \
	$(call fuzz_run,resp,$(FUZZ_TIME)) & p3=$$!; \
	$(call fuzz_run,rparse,$(FUZZ_TIME)) & p4=$$!; \
	wait $$p1; r1=$$?; wait $$p2; r2=$$?; wait $$p3; r3=$$?; wait $$p4; r4=$$?; \
	if [ $$r1 != 0 ] || [ $$r2 != 0 ] || [ $$r3 != 0 ] || [ $$r4 != 0 ]; then \
	  echo "************************************************************************"; \
	  echo "fuzz-smoke: afl-fuzz COULD NOT RUN HERE (exit $$r1/$$r2/$$r3/$$r4): replay part only"; \
	  tail -5 $(FUZZ_OUT)/ops.log $(FUZZ_OUT)/file.log $(FUZZ_OUT)/resp.log $(FUZZ_OUT)/rparse.log; \
	  echo "************************************************************************"; \
	fi
