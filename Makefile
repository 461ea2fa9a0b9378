# Gatehouse top-level build.
#   make                 release build of every binary into build/bin/
#   make test            deps + sanitizer build (build/san/) + the whole suite
#   make test-COMPONENT  one component's tests (foundation, keymanager, ...)
#   make bench-COMPONENT one component's benchmark
#   make deps            install missing Debian packages and the pinned npm packages of tests/
#   make run             all-in-one node (embedded PostgreSQL and slapd) under ./var, demo API; Ctrl-C stops
#   make stop            stop it from another terminal
#   make image           the appliance: build/image/ .deb, GPT disk (.img) and .qcow2; prints the sha256
#   make test-image-repro  two clean image builds, same sha256 (not part of make test)
SAN ?= 0
ifeq ($(SAN),1)
BUILD ?= build/san
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT = -O1 -g
MALLOC_LIB =
else
BUILD ?= build
SANFLAGS =
OPT = -O2 -g
# jemalloc for the release daemons: their request paths allocate small objects
# on several threads (measured: about 5% more tokens/s in bench-keymanager).
# The sanitizer build keeps ASan's allocator.
MALLOC_LIB = -ljemalloc
endif

CC ?= cc
# Quiet by default; V=1 shows the commands.
ifeq ($(V),1)
Q =
else
Q = @
endif
LLHTTP_SRC = /usr/share/llhttp
LLHTTP_INC = /usr/share/include/llhttp
WARN = -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes
CPPFLAGS_ALL = -D_GNU_SOURCE -Iappliance -I. -I$(LLHTTP_INC)
CFLAGS_ALL = -std=gnu11 $(OPT) $(SANFLAGS) -fstack-protector-strong -MMD -MP
LDFLAGS_ALL = $(SANFLAGS) -pthread

LIBS_CORE = -levent -levent_openssl -levent_pthreads -lssl -lcrypto -ljson-c
LIBS_PG = -lpq
LIBS_LDAP = -lldap -llber

CORE_SRC = $(wildcard appliance/core/*.c)
PG_SRC = $(wildcard appliance/pg/*.c)
LDAP_SRC = $(wildcard appliance/ldap/*.c)
GATEHOUSE_SRC = $(wildcard appliance/cmd/*.c)
KEYMANAGER_SRC = $(wildcard keymanager/*.c)
PUBLISHER_SRC = $(wildcard publisher/*.c)
PORTAL_SRC = $(wildcard portal/*.c)
# The gateways: one core, two zone profiles (gateway/int_*.c, gateway/ext_*.c).
GW_COMMON_SRC = $(filter-out gateway/int_%.c gateway/ext_%.c,$(wildcard gateway/*.c))
TM_SRC = $(wildcard gateway/trafficmanager/*.c)
GW_INT_SRC = $(wildcard gateway/int_*.c)
GW_EXT_SRC = $(wildcard gateway/ext_*.c)
UNIT_SRC = $(wildcard tests/unit/test_*.c)
BENCH_SRC = $(wildcard tests/bench/bench_*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

CORE_LIB = $(BUILD)/lib/libgh_core.a
PG_LIB = $(BUILD)/lib/libgh_pg.a
LDAP_LIB = $(BUILD)/lib/libgh_ldap.a
LLHTTP_LIB = $(BUILD)/lib/libllhttp.a

BINS = $(BUILD)/bin/gatehouse $(BUILD)/bin/gatehouse-keymanager \
	$(BUILD)/bin/gatehouse-publisher $(BUILD)/bin/gatehouse-portal \
	$(BUILD)/bin/gatehouse-gw-internal $(BUILD)/bin/gatehouse-gw-external \
	$(BUILD)/bin/gatehouse-trafficmanager
UNIT_BINS = $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
BENCH_BINS = $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))

.PHONY: all tests benches clean deps test run stop bench-% test-% sanbuild image test-image-repro
all: $(BINS)
tests: $(UNIT_BINS)
benches: $(BENCH_BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@[ -n "$(Q)" ] && echo "  CC      $<" || true
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) $(WARN) -c $< -o $@

# llhttp is compiled from Debian's node-llhttp sources, never copied here.
$(BUILD)/obj/llhttp/%.o: $(LLHTTP_SRC)/%.c
	@mkdir -p $(dir $@)
	@[ -n "$(Q)" ] && echo "  CC      $<" || true
	$(Q)$(CC) -I$(LLHTTP_INC) $(CFLAGS_ALL) -Wall -Wextra -Werror -Wno-unused-parameter -c $< -o $@

$(LLHTTP_LIB): $(BUILD)/obj/llhttp/llhttp.o $(BUILD)/obj/llhttp/api.o $(BUILD)/obj/llhttp/http.o
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^
$(CORE_LIB): $(call obj,$(CORE_SRC))
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^
$(PG_LIB): $(call obj,$(PG_SRC))
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^
$(LDAP_LIB): $(call obj,$(LDAP_SRC))
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

# Link lines per binary class: control plane gets pg + ldap; gateways never pg.
LINK_CP = $(PG_LIB) $(LDAP_LIB) $(CORE_LIB) $(LLHTTP_LIB)
LIBS_CP = $(LIBS_PG) $(LIBS_LDAP) $(LIBS_CORE) $(MALLOC_LIB)

$(BUILD)/bin/gatehouse: $(call obj,$(GATEHOUSE_SRC)) $(LINK_CP)
	@mkdir -p $(dir $@)
	@[ -n "$(Q)" ] && echo "  LD      $@" || true
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_CP)

$(BUILD)/bin/gatehouse-keymanager: $(call obj,$(KEYMANAGER_SRC)) $(LINK_CP)
	@mkdir -p $(dir $@)
	@[ -n "$(Q)" ] && echo "  LD      $@" || true
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_CP)

# The publisher console's web assets (publisher/web/*), embedded the same way.
PUBLISHER_WEB = $(sort $(wildcard publisher/web/*.html publisher/web/*.js publisher/web/*.css))
$(BUILD)/gen/publisher_web.c: $(PUBLISHER_WEB) portal/web/embed.sh
	@mkdir -p $(dir $@)
	@[ -n "$(Q)" ] && echo "  EMBED   $@" || true
	$(Q)portal/web/embed.sh $@ pub_web_assets $(PUBLISHER_WEB)
$(BUILD)/obj/gen/publisher_web.o: $(BUILD)/gen/publisher_web.c
	@mkdir -p $(dir $@)
	@[ -n "$(Q)" ] && echo "  CC      $<" || true
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) $(WARN) -c $< -o $@

$(BUILD)/bin/gatehouse-publisher: $(call obj,$(PUBLISHER_SRC)) $(BUILD)/obj/gen/publisher_web.o $(LINK_CP)
	@mkdir -p $(dir $@)
	@[ -n "$(Q)" ] && echo "  LD      $@" || true
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_CP) -lyaml

# The portal's web assets (portal/web/*) embedded at build time as a generated C file.
PORTAL_WEB = $(sort $(wildcard portal/web/*.html portal/web/*.js portal/web/*.css))
$(BUILD)/gen/portal_web.c: $(PORTAL_WEB) portal/web/embed.sh
	@mkdir -p $(dir $@)
	@[ -n "$(Q)" ] && echo "  EMBED   $@" || true
	$(Q)portal/web/embed.sh $@ portal_web_assets $(PORTAL_WEB)
$(BUILD)/obj/gen/portal_web.o: $(BUILD)/gen/portal_web.c
	@mkdir -p $(dir $@)
	@[ -n "$(Q)" ] && echo "  CC      $<" || true
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) $(WARN) -c $< -o $@

$(BUILD)/bin/gatehouse-portal: $(call obj,$(PORTAL_SRC)) $(BUILD)/obj/gen/portal_web.o $(LINK_CP)
	@mkdir -p $(dir $@)
	@[ -n "$(Q)" ] && echo "  LD      $@" || true
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_CP)

# The traffic manager: core and pg only (no LDAP).
# gateway/tmsync_wire.c: the throttle sync's codec, shared with the gateways.
$(BUILD)/bin/gatehouse-trafficmanager: $(call obj,$(TM_SRC) gateway/tmsync_wire.c) $(PG_LIB) $(CORE_LIB) $(LLHTTP_LIB)
	@mkdir -p $(dir $@)
	@[ -n "$(Q)" ] && echo "  LD      $@" || true
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_PG) $(LIBS_CORE) $(MALLOC_LIB)

# Gateways never link libgh_pg; gw-external not libgh_ldap either (DESIGN.md).
$(BUILD)/bin/gatehouse-gw-internal: $(call obj,$(GW_COMMON_SRC) $(GW_INT_SRC)) $(LDAP_LIB) $(CORE_LIB) $(LLHTTP_LIB)
	@mkdir -p $(dir $@)
	@[ -n "$(Q)" ] && echo "  LD      $@" || true
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_LDAP) $(LIBS_CORE) $(MALLOC_LIB)

$(BUILD)/bin/gatehouse-gw-external: $(call obj,$(GW_COMMON_SRC) $(GW_EXT_SRC)) $(CORE_LIB) $(LLHTTP_LIB)
	@mkdir -p $(dir $@)
	@[ -n "$(Q)" ] && echo "  LD      $@" || true
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_CORE) -lmaxminddb $(MALLOC_LIB)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LINK_CP)
	@mkdir -p $(dir $@)
	@[ -n "$(Q)" ] && echo "  LD      $@" || true
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_CP)

# Unit tests of gateway modules (tests/unit/test_gw_*.c) link the gateway's common
# objects as a library (only what they use is pulled in), with the external zone.
GW_LIB = $(BUILD)/lib/libgw.a
$(GW_LIB): $(call obj,$(filter-out gateway/main.c,$(GW_COMMON_SRC)) $(GW_EXT_SRC))
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^
$(BUILD)/tests/test_gw_%: $(BUILD)/obj/tests/unit/test_gw_%.o $(GW_LIB) $(LINK_CP)
	@mkdir -p $(dir $@)
	@[ -n "$(Q)" ] && echo "  LD      $@" || true
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_CP) -lmaxminddb

.SECONDARY:

$(BUILD)/bench/bench_tmsync: $(BUILD)/obj/tests/bench/bench_tmsync.o $(call obj,gateway/tmsync_wire.c) $(LINK_CP)
	@mkdir -p $(dir $@)
	@[ -n "$(Q)" ] && echo "  LD      $@" || true
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_CP)

$(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o $(LINK_CP)
	@mkdir -p $(dir $@)
	@[ -n "$(Q)" ] && echo "  LD      $@" || true
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_CP)

# After LINK_CP: the fuzz rules name it as a prerequisite (expanded when read).
include tests/fuzz/Makefile.inc

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

deps:
	@tests/lib/deps.sh

sanbuild:
	$(MAKE) SAN=1 all tests

test: deps
	$(MAKE) SAN=1 all tests
	tests/run all

test-%: deps
	$(MAKE) SAN=1 all tests
	tests/run $*

bench-%: deps
	$(MAKE) all benches
	tests/bench/run $*

image: deps
	image/build.sh

test-image-repro: deps
	image/repro.sh

run: deps
	$(MAKE) all
	appliance/run-local.sh

stop:
	@if [ -f var/run.pid ] && kill -0 $$(cat var/run.pid) 2>/dev/null; then \
		pid=$$(cat var/run.pid); kill -TERM $$pid; \
		while kill -0 $$pid 2>/dev/null; do sleep 0.2; done; echo stopped; \
	else echo "make stop: no node of make run is running"; fi

clean:
	rm -rf build
