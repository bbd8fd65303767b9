# avemo build.  make | make test | make bench | make SAN=1 test | make CUDA=1 (GPU build, later)
#
# Layout: src/<stage>/*.c -> libavemo.a; src/cli/*.c -> the avemo binary; tests/<stage>/test_*.c -> one
# test binary each, linked with libavemo.a plus the float64 build of the reference kernels (src/nn/ref).

# Parallel by default (one job per core); `make -j1` overrides.
MAKEFLAGS += -j$(shell nproc 2>/dev/null || echo 2)

CC      ?= gcc
ARCH    ?= -march=native
PKGS    := libavformat libavcodec libavutil libswscale libswresample fftw3f fftw3 soxr libcjson libpng libjpeg openblas cairo fontconfig
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN    := -Wall -Wextra -Werror -Wno-unused-parameter
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE $(WARN) -fopenmp -Iinclude -Isrc $(PKG_CFLAGS)
LDLIBS  := $(PKG_LIBS) -fopenmp -lm -lpthread

ifeq ($(SAN),1)
  BUILD  ?= build-san
  OPT    := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
  LDSAN  := -fsanitize=address,undefined
else
  BUILD  ?= build
  OPT    := -O3 $(ARCH) -g
  LDSAN  :=
endif
ifeq ($(CUDA),1)
  $(error make CUDA=1: the CUDA backend (src/nn/cuda/) is not built yet; see issue "GPU training and inference")
endif

CFLAGS  := $(CFLAGS_BASE) $(OPT)

LIB_SRC  := $(wildcard src/core/*.c src/io/*.c src/dsp/*.c src/vision/*.c src/nn/*.c src/nn/ref/*.c \
                       src/model/*.c src/data/*.c src/train/*.c src/api/*.c)
CLI_SRC  := $(wildcard src/cli/*.c)
REF_SRC  := $(wildcard src/nn/ref/*.c)
TEST_SRC := $(wildcard tests/*/test_*.c)
BENCH_SRC:= $(wildcard bench/bench_*.c)

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
F64_OBJ  := $(REF_SRC:%.c=$(BUILD)/f64/%.o)
TEST_BIN := $(TEST_SRC:%.c=$(BUILD)/%)
TESTSUP_OBJ := $(BUILD)/tests/support.o
BENCH_BIN:= $(BENCH_SRC:%.c=$(BUILD)/%)

LIB      := $(BUILD)/libavemo.a
BIN      := avemo

.PHONY: all test bench clean fixtures install fuzz
.SECONDARY: $(F64_OBJ)
all: $(BIN) $(LIB)

ifeq ($(SAN),1)
$(BIN): $(BUILD)/avemo
	@true
else
$(BIN): $(BUILD)/avemo
	cp $< $@
endif

$(BUILD)/avemo: $(CLI_OBJ) $(LIB)
	$(CC) $(OPT) $(LDSAN) -o $@ $(CLI_OBJ) $(LIB) $(LDLIBS)

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "CC  $<"
	@$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# float64 build of the plain reference kernels, for finite-difference gradient checks
$(BUILD)/f64/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "CC  $< (float64)"
	@$(CC) $(CFLAGS) -DAVEMO_REAL_F64 -MMD -MP -c $< -o $@

$(BUILD)/tests/%: tests/%.c $(LIB) $(F64_OBJ) $(TESTSUP_OBJ)
	@mkdir -p $(dir $@)
	@echo "LD  $@"
	@$(CC) $(CFLAGS) -Itests -o $@ $< $(TESTSUP_OBJ) $(F64_OBJ) $(LIB) $(LDSAN) $(LDLIBS)

$(TESTSUP_OBJ): tests/support.c tests/test.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -c $< -o $@

$(BUILD)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -o $@ $< $(LIB) $(LDSAN) $(LDLIBS)

test: $(BIN) $(TEST_BIN)
	@BUILD=$(BUILD) AVEMO_BIN=$(CURDIR)/$(BUILD)/avemo ./tests/run.sh $(TEST_BIN)

bench: $(BIN) $(BENCH_BIN)
	@./bench/run.sh $(BENCH_BIN)

# fixtures are committed; this regenerates them with Debian's python3-torch / numpy / scipy
fixtures:
	for s in tools/fixtures_*.py; do echo "$$s"; /usr/bin/python3 $$s || exit 1; done

# libFuzzer harnesses (clang): tests/fuzz/fuzz_<parser>.c, seed corpora in tests/fuzz/corpus/<parser>/.
# `make fuzz FUZZ_SECONDS=N` runs each for N seconds on a scratch copy of its corpus; crashes land in
# build-fuzz/crashes/ and make the target fail (turn each into a regression test).
FUZZ_SECONDS ?= 30
FUZZ_BUILD := build-fuzz
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:%.c=$(FUZZ_BUILD)/%)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_BUILD)/%.o)
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -fopenmp -Iinclude -Isrc $(PKG_CFLAGS) -O1 -g \
               -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined

$(FUZZ_BUILD)/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -w -c $< -o $@

$(FUZZ_BUILD)/libavemo.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/tests/fuzz/%: tests/fuzz/%.c $(FUZZ_BUILD)/libavemo.a
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_BUILD)/libavemo.a $(LDLIBS)

fuzz: $(FUZZ_BIN)
	@./tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BIN)

PREFIX ?= /usr/local
install: $(BIN) $(LIB)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/avemo
	install -m 644 $(LIB) $(DESTDIR)$(PREFIX)/lib/libavemo.a
	install -m 644 include/avemo.h $(DESTDIR)$(PREFIX)/include/avemo.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@PKGS@|$(PKGS)|' avemo.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/avemo.pc

clean:
	rm -rf build build-san $(BIN)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
