# ffdb — build, test and sanitizer targets.
#
#   make            libffdb.a, the tools and the examples (optimized)
#   make test       build and run the whole test suite (optimized build)
#   make asan       the same suite under AddressSanitizer + UBSan
#   make deps       install the Debian packages the build needs (as root)
#   make run        build and run examples/tour (the README's run command)
#   make format     clang-format every source file
#   make bench      quick side-by-side benchmark (bench/; needs make bench-deps)
#   make bench-full the full benchmark; results in bench/results/
#   make bench-resp redis-benchmark: ffdb-server beside redis-server
#   make hiredis-suite  hiredis's own test program against ffdb-server and redis-server
#   make cluster-soak  RAFT cluster faults soak (CLUSTER_SOAK_SECONDS=120; 20 is the short form;
#                   CLUSTER_SOAK_FSYNC=never or make cluster-soak-never: files never synced)
#   make bench-cluster 3-node cluster vs one node, redis-benchmark, --fsync always
#   make install    libffdb.a, libffdb.so, ffdb.h, ffdb.pc, the tools and man
#                   pages under $(DESTDIR)$(PREFIX) (/usr/local); make uninstall
#   make install-check  install into a scratch prefix and build a program
#                   outside the tree with pkg-config (CI runs it)
#
# Objects go to $(BUILD) (build/ or build-asan/); nothing is written elsewhere.

SHELL := /bin/bash

BUILD    ?= build
CC       ?= cc
OPT      ?= -O2
SAN      ?=
CFLAGS   ?= $(OPT) -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -pthread $(SAN)
CPPFLAGS += -Iinclude -I. -D_GNU_SOURCE $(CHECK_FLAGS)
LDLIBS   += -luring -lxxhash -pthread
PROG_LIBS ?= -ljemalloc

LAYERS   = common pager bufpool freelist btree engine
LIB_SRC  = $(foreach d,$(LAYERS),$(wildcard $(d)/*.c))
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB      = $(BUILD)/libffdb.a

TESTING_SRC = $(wildcard testing/*.c)
TESTING_OBJ = $(TESTING_SRC:%.c=$(BUILD)/%.o)
TESTING_LIB = $(BUILD)/libffdb_testing.a

TEST_SRC = $(wildcard tests/*.c)
TEST_OBJ = $(TEST_SRC:%.c=$(BUILD)/%.o)
TEST_BIN = $(BUILD)/tests/ffdb-tests
# Helper programs the tests run as separate processes (lock test, etc.).
TEST_HELPERS_SRC = $(wildcard tests/helpers/*.c)
TEST_HELPERS = $(TEST_HELPERS_SRC:tests/helpers/%.c=$(BUILD)/tests/helpers/%)

# Programs under tools/: each folder is one program, built from all its .c files.
CLI_SRC   = $(wildcard tools/ffdb/*.c)
# The program is $(BUILD)/tools/ffdb, so its objects cannot live in a folder of that name.
CLI_OBJ   = $(CLI_SRC:tools/ffdb/%.c=$(BUILD)/tools/ffdb.o/%.o)
CRASH_SRC = $(wildcard tools/crash/*.c)
TOOLS     = $(if $(CLI_SRC),$(BUILD)/tools/ffdb) $(if $(CRASH_SRC),$(BUILD)/tools/ffdb-crash)

# ---- the network modules and ffdb-server ----
# One static library per folder of modules/, linked in layer order (redis,
# resp, net, then libffdb.a) so that an upward reference fails to link:
#   libffdb_net.a    modules/net    event loop, connections, config, log, batch commit
#   libffdb_resp.a   modules/resp   RESP wire format: parsers, reply writer, command table
#   libffdb_redis.a  modules/redis  the Redis commands, data model, server policy
#   libffdb_raft.a   modules/raft   RAFT replication on libraft/libuv (RAFT_LDLIBS)
#   libffdb_natsbus.a modules/natsbus NATS client (nats.c) on net's loop (NATS_LDLIBS)
# All three are linked into the test binary too (unit tests of each layer).
# tools/ffdb-server/*.c is the program, linked with jemalloc (PROG_LIBS,
# empty under `make asan`).
MODULES    = raft redis resp natsbus net
MOD_SRC    = $(foreach m,$(MODULES),$(wildcard modules/$(m)/*.c))
MOD_OBJ    = $(MOD_SRC:%.c=$(BUILD)/%.o)
MOD_LIBS   = $(MODULES:%=$(BUILD)/libffdb_%.a)
SERVER_SRC = $(wildcard tools/ffdb-server/*.c)
SERVER_OBJ = $(SERVER_SRC:tools/ffdb-server/%.c=$(BUILD)/tools/ffdb-server.o/%.o)
TOOLS     += $(if $(SERVER_SRC),$(BUILD)/tools/ffdb-server)
RAFT_LDLIBS = -lraft -luv
# Lua 5.1 as Redis embeds it: EVAL and FUNCTION (modules/redis/cmd_lua.c);
# libcrypto (libssl-dev): SHA-1 of the script cache (modules/redis/sha1.c).
REDIS_LDLIBS = -llua5.1 -lcrypto -lm
$(BUILD)/modules/redis/%.o: CPPFLAGS += -I/usr/include/lua5.1
NATS_LDLIBS = -lnats
# (its rules follow the ffdb-crash rule below)
# ffdb-blocks, the block store's CLI (its rules: "the block store" below).
BLOCKS_TOOL_SRC = $(wildcard tools/ffdb-blocks/*.c)
TOOLS     += $(if $(BLOCKS_TOOL_SRC),$(BUILD)/tools/ffdb-blocks)

EXAMPLE_SRC = $(wildcard examples/*.c)
EXAMPLES = $(EXAMPLE_SRC:examples/%.c=$(BUILD)/examples/%)

# redis-tools, redis-server, libhiredis-dev: the ffdb-server tests talk to it
# through redis-cli and hiredis and compare it with a redis-server they start
# themselves (never the system service the package may start).
DEPS = liburing-dev libxxhash-dev libcriterion-dev libjemalloc-dev pkg-config afl++ \
       redis-tools redis-server libhiredis-dev \
       libsodium-dev libcbor-dev libzstd-dev \
       libprotobuf-c-dev protobuf-c-compiler nats-server libnats-dev \
       libraft-dev libuv1-dev libmicrohttpd-dev liblua5.1-0-dev libssl-dev

.PHONY: all lib test asan deps format clean examples run tools crashtest

all: lib shlib examples tools

tools: $(TOOLS)

$(BUILD)/tools/ffdb: $(CLI_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) $(PROG_LIBS)

$(BUILD)/tools/ffdb.o/%.o: tools/ffdb/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

# The crash harness drives the engine through testing/io_mem (a test tool).
$(BUILD)/tools/ffdb-crash: $(CRASH_SRC:%.c=$(BUILD)/%.o) $(TESTING_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# The module libraries and ffdb-server (variables above, beside TOOLS).
$(foreach m,$(MODULES),$(eval $(BUILD)/libffdb_$(m).a: $(patsubst %.c,$(BUILD)/%.o,$(wildcard modules/$(m)/*.c))))
$(MOD_LIBS):
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/tools/ffdb-server: $(SERVER_OBJ) $(MOD_LIBS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $(SERVER_OBJ) $(SERVER_PTR_LIBS) $(SERVER_CRDT_LIBS) $(MOD_LIBS) $(LIB) $(RAFT_LDLIBS) $(REDIS_LDLIBS) $(NATS_LDLIBS) $(SERVER_PTR_LDLIBS) $(SERVER_CRDT_LDLIBS) $(LDLIBS) $(PROG_LIBS)

$(BUILD)/tools/ffdb-server.o/%.o: tools/ffdb-server/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(TEST_BIN): $(MOD_LIBS)

# `make format` covers the modules and the program too.
.PHONY: format-modules
format: format-modules
format-modules:
	clang-format -i $(MOD_SRC) $(SERVER_SRC) $(wildcard modules/*/*.h)

-include $(MOD_OBJ:.o=.d) $(SERVER_OBJ:.o=.d)
# ---- end of the modules ----

# ---- the block store: modules/ipld, modules/blocks, ffdb-blocks ----
# Layer order: libffdb_blocks.a uses libffdb_ipld.a, which uses libsodium
# and libcbor only (no engine call); blocks adds libzstd for the cold tier.
# Both libraries are linked into the test binary (tests/test_ipld.c,
# test_blocks*.c, test_unixfs.c); tools/ffdb-blocks/*.c is the CLI.
IPLD_SRC    = $(wildcard modules/ipld/*.c)
IPLD_OBJ    = $(IPLD_SRC:%.c=$(BUILD)/%.o)
IPLD_LIB    = $(BUILD)/libffdb_ipld.a
BLOCKS_SRC  = $(wildcard modules/blocks/*.c)
BLOCKS_OBJ  = $(BLOCKS_SRC:%.c=$(BUILD)/%.o)
BLOCKS_LIB  = $(BUILD)/libffdb_blocks.a
BLOCKS_LDLIBS = -lzstd -lcbor -lsodium
BLOCKS_TOOL_OBJ = $(BLOCKS_TOOL_SRC:tools/ffdb-blocks/%.c=$(BUILD)/tools/ffdb-blocks.o/%.o)

$(IPLD_LIB): $(IPLD_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BLOCKS_LIB): $(BLOCKS_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

# The JSON writer of --json is the ffdb tool's (tools/ffdb/json.c), shared.
# The gateway (modules/blocks/gateway.c, `serve`) runs on modules/net's loop
# and libmicrohttpd: libffdb_net.a follows libffdb_blocks.a (layer order).
BLOCKS_GATEWAY_LDLIBS = -lmicrohttpd
$(BUILD)/tools/ffdb-blocks: $(BLOCKS_TOOL_OBJ) $(BUILD)/tools/ffdb.o/json.o $(BLOCKS_LIB) $(BUILD)/libffdb_net.a $(IPLD_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(BLOCKS_LDLIBS) $(BLOCKS_GATEWAY_LDLIBS) $(LDLIBS) $(PROG_LIBS)

$(BUILD)/tools/ffdb-blocks.o/%.o: tools/ffdb-blocks/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(TEST_BIN): $(BLOCKS_LIB) $(IPLD_LIB)

.PHONY: format-blocks
format: format-blocks
format-blocks:
	clang-format -i $(IPLD_SRC) $(BLOCKS_SRC) $(BLOCKS_TOOL_SRC) $(wildcard modules/ipld/*.h modules/blocks/*.h tools/ffdb-blocks/*.h) \
	  $(wildcard tests/test_ipld.c tests/test_blocks*.c tests/test_blocks*.h tests/test_unixfs.c)

# The block store's benchmark (not part of all/test): build/bench/blocks_bench,
# add vs sha256 and put/get/has vs a flatfs-style store; `make bench-blocks`
# prints the figures and keeps them in bench/results/blocks.txt.
BLOCKS_BENCH = $(BUILD)/bench/blocks_bench
.PHONY: bench-blocks
$(BLOCKS_BENCH): bench/blocks/blocks_bench.c bench/benchutil.h $(BLOCKS_LIB) $(IPLD_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BLOCKS_LIB) $(IPLD_LIB) $(LIB) $(BLOCKS_LDLIBS) $(LDLIBS)

bench-blocks: $(BLOCKS_BENCH)
	$(BLOCKS_BENCH) $(BLOCKS_BENCH_ARGS) | tee bench/results/blocks.txt

# One put per txn: default vs FFDB_NOSYNC vs FFDB_DEFERSYNC (issue 11/16, perf5).
DEFERSYNC_BENCH = $(BUILD)/bench/defersync_bench
.PHONY: bench-defersync
$(DEFERSYNC_BENCH): bench/defersync/defersync_bench.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LIB) $(LDLIBS)
bench-defersync: $(DEFERSYNC_BENCH)
	$(DEFERSYNC_BENCH) --dir $(BUILD) $(DEFERSYNC_BENCH_ARGS)

-include $(IPLD_OBJ:.o=.d) $(BLOCKS_OBJ:.o=.d) $(BLOCKS_TOOL_OBJ:.o=.d)
# ---- end of the block store ----

# ---- the node identity: modules/ident ----
# libffdb_ident.a: a node's ed25519 key file, signatures, key text forms
# (libsodium only; no engine call). Used by ptr (signed records) and oplog.
IDENT_SRC    = $(wildcard modules/ident/*.c)
IDENT_OBJ    = $(IDENT_SRC:%.c=$(BUILD)/%.o)
IDENT_LIB    = $(BUILD)/libffdb_ident.a
IDENT_LDLIBS = -lsodium

$(IDENT_LIB): $(IDENT_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

all: $(IDENT_LIB)
$(TEST_BIN): $(IDENT_LIB)

.PHONY: format-ident
format: format-ident
format-ident:
	clang-format -i $(IDENT_SRC) $(wildcard modules/ident/*.h) tests/test_ident.c

-include $(IDENT_OBJ:.o=.d)
# ---- end of the node identity ----

# ---- signed records: modules/ptr ----
# libffdb_ptr.a: signed last-writer-wins records in an ffdb bucket, on
# libffdb_ident.a and protobuf-c. The wire contract is modules/ptr/ptr.proto;
# protoc-c generates its C code into $(BUILD)/gen (never into the tree).
PTR_PROTO   = modules/ptr/ptr.proto
PTR_GEN_C   = $(BUILD)/gen/modules/ptr/ptr.pb-c.c
PTR_GEN_H   = $(PTR_GEN_C:.c=.h)
PTR_SRC     = $(wildcard modules/ptr/*.c)
PTR_OBJ     = $(PTR_SRC:%.c=$(BUILD)/%.o) $(PTR_GEN_C:%.c=%.o)
PTR_LIB     = $(BUILD)/libffdb_ptr.a
PTR_LDLIBS  = -lprotobuf-c

$(PTR_GEN_C) $(PTR_GEN_H) &: $(PTR_PROTO)
	@mkdir -p $(BUILD)/gen
	protoc-c --c_out=$(BUILD)/gen $(PTR_PROTO)

$(PTR_GEN_C:%.c=%.o): $(PTR_GEN_C)
	$(CC) $(CPPFLAGS) -I$(BUILD)/gen $(CFLAGS) -MMD -MP -c $< -o $@

$(PTR_SRC:%.c=$(BUILD)/%.o): CPPFLAGS += -I$(BUILD)/gen
$(PTR_SRC:%.c=$(BUILD)/%.o): $(PTR_GEN_H)

$(PTR_LIB): $(PTR_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

all: $(PTR_LIB)
$(TEST_BIN): $(PTR_LIB)
# ffdb-server's signed records (tools/ffdb-server/records.c) link it.
SERVER_PTR_LIBS = $(PTR_LIB)
SERVER_PTR_LDLIBS = $(PTR_LDLIBS)
$(BUILD)/tools/ffdb-server: $(PTR_LIB)

.PHONY: format-ptr
format: format-ptr
format-ptr:
	clang-format -i $(PTR_SRC) $(wildcard modules/ptr/*.h) tests/test_ptr.c tests/test_ptr_nodes.c

# Three ffdb-server --nats nodes: PTR.SET records/s applied per node, and a
# late node's catch-up (bench/ptr_bench.py; not part of all/test).
.PHONY: bench-ptr
bench-ptr: tools
	python3 bench/ptr_bench.py --server $(BUILD)/tools/ffdb-server $(PTR_BENCH_ARGS)

-include $(PTR_OBJ:.o=.d)
# ---- end of signed records ----

# ---- the operation log: modules/oplog (issue 13) ----
# libffdb_oplog.a uses libffdb_ipld.a (CIDs, dag-cbor) and the engine API;
# linked into the test binary before ipld (tests/test_oplog.c).
OPLOG_SRC = $(wildcard modules/oplog/*.c)
OPLOG_OBJ = $(OPLOG_SRC:%.c=$(BUILD)/%.o)
OPLOG_LIB = $(BUILD)/libffdb_oplog.a

$(TEST_BIN): $(OPLOG_LIB)

$(OPLOG_LIB): $(OPLOG_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

.PHONY: format-oplog
format: format-oplog
format-oplog:
	clang-format -i $(OPLOG_SRC) $(wildcard modules/oplog/*.h tests/test_oplog.c)

# libffdb_crdt.a (modules/crdt): the CRDT mode over the redis store; above
# redis in the layer order, so it comes first on the test link line.
# ffdb-server --crdt links it with what it uses (oplog, ipld, ident), above
# the modules in layer order.
CRDT_SRC = $(wildcard modules/crdt/*.c)
CRDT_OBJ = $(CRDT_SRC:%.c=$(BUILD)/%.o)
CRDT_LIB = $(BUILD)/libffdb_crdt.a
SERVER_CRDT_LIBS = $(CRDT_LIB) $(OPLOG_LIB) $(IPLD_LIB) $(IDENT_LIB)
SERVER_CRDT_LDLIBS = -lcbor -lsodium
$(BUILD)/tools/ffdb-server: $(SERVER_CRDT_LIBS)

$(TEST_BIN): $(CRDT_LIB)

$(CRDT_LIB): $(CRDT_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

format-oplog: format-crdt
.PHONY: format-crdt
format-crdt:
	clang-format -i $(CRDT_SRC) $(wildcard modules/crdt/*.h tests/test_crdt.c)

-include $(CRDT_OBJ:.o=.d)

# The log's own benchmark (not part of all/test): build/bench/oplog_bench.
OPLOG_BENCH = $(BUILD)/bench/oplog_bench
.PHONY: bench-oplog
$(OPLOG_BENCH): bench/oplog/oplog_bench.c bench/benchutil.h $(OPLOG_LIB) $(IPLD_LIB) $(IDENT_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(OPLOG_LIB) $(IPLD_LIB) $(IDENT_LIB) $(LIB) -lcbor -lsodium $(LDLIBS)

bench-oplog: $(OPLOG_BENCH)
	$(OPLOG_BENCH) $(OPLOG_BENCH_ARGS)

# Two ffdb-server --crdt nodes: write rate and the time to converge after a
# partition (bench/crdt/converge.py; not part of all/test).
.PHONY: bench-crdt
bench-crdt: tools
	python3 bench/crdt/converge.py --server $(BUILD)/tools/ffdb-server $(CRDT_BENCH_ARGS)

# Three ffdb-server --nats nodes on a nats-server: PUBLISH node1 -> SUBSCRIBE
# node3 messages/s beside local-only (bench/nats_bridge.py; not part of all/test).
.PHONY: bench-nats
bench-nats: tools
	python3 bench/nats_bridge.py --server $(BUILD)/tools/ffdb-server $(NATS_BENCH_ARGS)

# Three nodes over a real nats-server: append/apply rates, heal after a
# partition (bench/crdt/nats_bench.py; not part of all/test).
.PHONY: bench-crdt-nats
bench-crdt-nats: tools
	python3 bench/crdt/nats_bench.py --server $(BUILD)/tools/ffdb-server $(CRDT_NATS_BENCH_ARGS)

-include $(OPLOG_OBJ:.o=.d)
# ---- end of the operation log ----

# ---- the RAFT cluster (issue 11) ----
# The cluster soak (tests/test_cluster.c, suite cluster_soak; skipped by make
# test): 3 ffdb-server nodes, repeated leader kill -9 and random SIGSTOP/CONT
# under an INCR + unique-SET load, then every acknowledged write checked.
# CLUSTER_SOAK_SECONDS=20 is the short form. bench-cluster: bench/cluster_bench.sh.
CLUSTER_SOAK_SECONDS ?= 120
# CLUSTER_SOAK_FSYNC=never: the nodes' files are never synced (the RAFT log
# is the durability point) and a third fault takes a follower's file back
# to an older state; make cluster-soak-never is that variant.
CLUSTER_SOAK_FSYNC ?= always
.PHONY: cluster-soak cluster-soak-never bench-cluster
cluster-soak: $(TEST_BIN) $(TOOLS)
	@set -o pipefail; FFDB_TEST_TOOLS=$(abspath $(BUILD))/tools CLUSTER_SOAK_SECONDS=$(CLUSTER_SOAK_SECONDS) \
	  CLUSTER_SOAK_FSYNC=$(CLUSTER_SOAK_FSYNC) \
	  $(TEST_BIN) --filter 'cluster_soak/*' 2>&1 | grep -v '^\[SKIP\]\|^\[====\] Running'
cluster-soak-never:
	$(MAKE) cluster-soak CLUSTER_SOAK_FSYNC=never
bench-cluster: $(TOOLS)
	bench/cluster_bench.sh $(abspath $(BUILD))/tools/ffdb-server
# ---- end of the RAFT cluster ----

# The thorough crash-recovery pass (>= 10,000 crash points; minutes). CRASH_ARGS
# adds options, e.g. CRASH_ARGS="--seed 7 --scale 2".
crashtest: $(BUILD)/tools/ffdb-crash
	$(BUILD)/tools/ffdb-crash --thorough $(CRASH_ARGS)

lib: $(LIB)

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(TESTING_LIB): $(TESTING_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(TEST_BIN): $(TEST_OBJ) $(TESTING_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $(TEST_OBJ) $(CRDT_LIB) $(MOD_LIBS) $(OPLOG_LIB) $(BLOCKS_LIB) $(IPLD_LIB) $(PTR_LIB) $(IDENT_LIB) $(TESTING_LIB) $(LIB) \
	  -lcriterion -lhiredis $(RAFT_LDLIBS) $(REDIS_LDLIBS) $(NATS_LDLIBS) $(BLOCKS_LDLIBS) $(PTR_LDLIBS) $(IDENT_LDLIBS) $(LDLIBS)

$(BUILD)/tests/helpers/%: tests/helpers/%.c $(TESTING_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(TESTING_LIB) $(LIB) $(LDLIBS)

$(BUILD)/examples/%: examples/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LIB) $(LDLIBS) $(PROG_LIBS)

examples: $(EXAMPLES)

# The test binary finds helper programs and scratch space through these.
# The log is kept in $(BUILD)/test.log; on failure the failing tests and
# their assertions are repeated at the end, where a truncated CI log shows them.
test: $(TEST_BIN) $(TEST_HELPERS) $(TOOLS)
	@set -o pipefail; FFDB_TEST_HELPERS=$(abspath $(BUILD))/tests/helpers FFDB_TEST_TOOLS=$(abspath $(BUILD))/tools \
	  LSAN_OPTIONS=suppressions=$(abspath tests/lsan.supp) \
	  $(TEST_BIN) --jobs 2 $(TEST_ARGS) 2>&1 | tee $(BUILD)/test.log || \
	  { echo "---- failed in $(BUILD) (full log: $(BUILD)/test.log):"; \
	    grep -E '^\[(----|FAIL)\]|ERROR: AddressSanitizer|runtime error|Crashing' $(BUILD)/test.log | grep -v '^\[----\] *$$'; exit 1; }

# jemalloc and ASan both want malloc: programs link plain libc under ASan.
# FFDB_DEBUG_CHECK: every commit runs the full structural check on what it
# committed and aborts on a problem (engine/check.c; bounded for large files).
# Everything built in build-asan gets it (fuzz-replay too), so no object
# there is built without it.
ASAN_CHECK_FLAGS = -DFFDB_DEBUG_CHECK
asan:
	$(MAKE) BUILD=build-asan OPT=-O1 PROG_LIBS= CHECK_FLAGS="$(ASAN_CHECK_FLAGS)" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
	  test

# The main job: build everything and take the engine on a tour.
run: all
	$(BUILD)/examples/tour $(BUILD)/tour.ffdb

deps:
	@missing=""; for p in $(DEPS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "all build dependencies present"; fi

format:
	clang-format -i $(LIB_SRC) $(TESTING_SRC) $(TEST_SRC) $(EXAMPLE_SRC) include/*.h */*.h

clean:
	rm -rf build build-asan

# ---- Benchmarks: ffdb beside LMDB, SQLite, RocksDB and LevelDB (bench/) ----
# Not part of `make all` or `make test`: the peers' packages (BENCH_DEPS) are
# installed only by `make bench-deps`, so CI stays lean. The bench binary
# links ffdb through libffdb.a and the peers through their Debian libraries.
# `make bench` is the quick run (results in $(BUILD)/bench-results);
# `make bench-full` the full one (bench/results/latest.json and .png).
BENCH_DEPS = liblmdb-dev libsqlite3-dev librocksdb-dev libleveldb-dev gnuplot-nox
BENCH_SRC  = $(wildcard bench/*.c)
BENCH_OBJ  = $(BENCH_SRC:%.c=$(BUILD)/%.o)
BENCH_BIN  = $(BUILD)/bench/bench
BENCH_LIBS = -llmdb -lsqlite3 -lrocksdb -lleveldb
BENCH_ARGS ?=
BENCH_CHART = gnuplot -e "datafile='$(1)/ratios.tsv'; outfile='$(1)/latest.png'" bench/report.gp

.PHONY: bench bench-full bench-deps bench-resp

$(BENCH_BIN): $(BENCH_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $(BENCH_OBJ) $(LIB) $(BENCH_LIBS) $(LDLIBS)

bench: $(BENCH_BIN)
	$(BENCH_BIN) --quick --out $(BUILD)/bench-results $(BENCH_ARGS)
	$(call BENCH_CHART,$(BUILD)/bench-results)

# Redis's own test suite (tests/unit of REDIS_TAG, default 7.0.15) against a
# fresh ffdb-server, per-file ok/err/exception counts (tests/redis-suite/run.sh).
# Not part of `make test`; needs tclsh (package tcl, in REDIS_SUITE_DEPS).
REDIS_SUITE_DEPS = tcl
REDIS_SUITE_ARGS ?=
.PHONY: redis-suite
redis-suite: tools
	@command -v tclsh >/dev/null || $(MAKE) --no-print-directory deps DEPS="$(REDIS_SUITE_DEPS)"
	bash tests/redis-suite/run.sh --out $(BUILD)/redis-suite.txt $(REDIS_SUITE_ARGS)

# hiredis's own test program (its source fetched at run time, built in
# build/hiredis-suite) against ffdb-server and redis-server: passed/failed
# counts (tests/redis-suite/hiredis.sh). Not part of `make test`.
.PHONY: hiredis-suite
hiredis-suite: tools
	bash tests/redis-suite/hiredis.sh

# redis-benchmark against ffdb-server and redis-server (bench/resp_bench.sh).
bench-resp: tools
	bash bench/resp_bench.sh --out bench/results/resp.md $(RESP_BENCH_ARGS)

bench-full: $(BENCH_BIN)
	$(BENCH_BIN) --out bench/results $(BENCH_ARGS) | tee bench/results/latest.txt
	$(call BENCH_CHART,bench/results)

bench-deps:
	@$(MAKE) --no-print-directory deps DEPS="$(BENCH_DEPS)"

# ---- The shared library and make install ----
# libffdb.so is built from the same sources compiled with -fPIC into
# $(BUILD)/pic/. Its soname carries the major version (libffdb.so.0); the
# version script exports the public API (ffdb_*) and nothing of the layers
# under it. The version comes from include/ffdb.h, the one place it is kept.
FFDB_VERSION := $(shell sed -n 's/^\#define FFDB_VERSION_\(MAJOR\|MINOR\|PATCH\) *\([0-9]*\).*/\2/p' include/ffdb.h | paste -sd.)
FFDB_MAJOR   := $(firstword $(subst ., ,$(FFDB_VERSION)))
SONAME   = libffdb.so.$(FFDB_MAJOR)
SHLIB    = $(BUILD)/libffdb.so.$(FFDB_VERSION)
PIC_OBJ  = $(LIB_SRC:%.c=$(BUILD)/pic/%.o)

PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR   = $(PREFIX)/bin
LIBDIR   = $(PREFIX)/lib
INCDIR   = $(PREFIX)/include
MANDIR   = $(PREFIX)/share/man
PCDIR    = $(LIBDIR)/pkgconfig
INSTALL_TOOLS = ffdb ffdb-server
MAN_PAGES = $(wildcard docs/man/*.[0-9])

.PHONY: shlib install uninstall install-check

shlib: $(SHLIB)

$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fPIC -MMD -MP -c $< -o $@

$(SHLIB): $(PIC_OBJ) docs/libffdb.map
	$(CC) $(CFLAGS) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=docs/libffdb.map \
	  -Wl,--no-undefined -o $@ $(PIC_OBJ) $(LDLIBS)

$(BUILD)/ffdb.pc: docs/ffdb.pc.in include/ffdb.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCDIR@|$(INCDIR)|' \
	  -e 's|@VERSION@|$(FFDB_VERSION)|' $< > $@

# Rebuilds ffdb.pc each time: PREFIX may differ from the last install.
install: lib shlib tools
	@rm -f $(BUILD)/ffdb.pc; $(MAKE) --no-print-directory $(BUILD)/ffdb.pc
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCDIR) $(DESTDIR)$(PCDIR)
	install -m 644 $(LIB) $(DESTDIR)$(LIBDIR)/libffdb.a
	install -m 755 $(SHLIB) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(SHLIB)) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libffdb.so
	install -m 644 include/ffdb.h $(DESTDIR)$(INCDIR)/ffdb.h
	install -m 644 $(BUILD)/ffdb.pc $(DESTDIR)$(PCDIR)/ffdb.pc
	install -m 755 $(INSTALL_TOOLS:%=$(BUILD)/tools/%) $(DESTDIR)$(BINDIR)/
	for m in $(MAN_PAGES); do s=$${m##*.}; install -d $(DESTDIR)$(MANDIR)/man$$s; \
	  install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then ldconfig; fi

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libffdb.a $(DESTDIR)$(LIBDIR)/libffdb.so $(DESTDIR)$(LIBDIR)/$(SONAME) \
	  $(DESTDIR)$(LIBDIR)/$(notdir $(SHLIB)) $(DESTDIR)$(INCDIR)/ffdb.h $(DESTDIR)$(PCDIR)/ffdb.pc \
	  $(INSTALL_TOOLS:%=$(DESTDIR)$(BINDIR)/%)
	for m in $(MAN_PAGES); do s=$${m##*.}; rm -f $(DESTDIR)$(MANDIR)/man$$s/$$(basename $$m); done

# What a user outside the tree does: install, then build with pkg-config
# (shared and --static), run both, read the man pages, uninstall, and find
# nothing left behind.
install-check: all
	bash tests/install_check.sh $(abspath $(BUILD))/install-check

# Fuzzing targets (fuzz, fuzz-smoke) live beside their harnesses.
-include fuzz/fuzz.mk

-include $(LIB_OBJ:.o=.d) $(PIC_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(TESTING_OBJ:.o=.d) \
	$(CLI_OBJ:.o=.d) $(CRASH_SRC:%.c=$(BUILD)/%.d)
