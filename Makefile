# avemo build.  make | make test | make bench | make SAN=1 test | make MPI=1 (the same, with MPI) | make CUDA=1 (GPU build, later)
#
# Layout: src/<stage>/*.c -> the library objects, packed three ways:
#   $(BUILD)/libavemo_internal.a  every object with every symbol: what the avemo binary (src/cli/*.c), the tests
#                                 (tests/<stage>/test_*.c, plus the float64 build of src/nn/ref) and benches link;
#   $(BUILD)/libavemo.a           installed: one partially linked object whose only global symbols are the
#                                 public API of include/avemo.h (everything else localized);
#   $(BUILD)/libavemo.so          installed: the same objects as a shared library exporting only that API.
# Visibility: library objects are compiled -fvisibility=hidden; include/avemo.h marks its functions AVEMO_API.
# tools/style_check.py (run by `make test`, or `make style`) checks that, function lengths and include layers.

# `make` alone builds `all` (the stamp rule below would otherwise be the first target).
.DEFAULT_GOAL := all

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

# MPI=1: the avemo program, the tests and the benches with MPI (src/core/dist_mpi.c, found by pkg-config's
# $(MPI_PKG)) in place of the one-rank src/core/dist.c, in build folders of their own; the installed libraries
# keep dist.c (no MPI dependency). `make test MPI=1` adds the 2-rank tests of tests/mpi/.
MPI_PKG ?= ompi-c
ifeq ($(MPI),1)
  BUILD_KIND := -mpi
  MPI_CFLAGS := $(shell pkg-config --cflags $(MPI_PKG) 2>/dev/null)
  MPI_LIBS   := $(shell pkg-config --libs $(MPI_PKG) 2>/dev/null)
  ifeq ($(MPI_LIBS),)
    $(error make MPI=1: pkg-config finds no $(MPI_PKG); install libopenmpi-dev (scripts/install-deps.sh), or name another MPI's .pc with MPI_PKG=)
  endif
else
  BUILD_KIND :=
  MPI_LIBS :=
endif

ifeq ($(SAN),1)
  BUILD  ?= build-san$(BUILD_KIND)
  OPT    := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
  LDSAN  := -fsanitize=address,undefined
else
  BUILD  ?= build$(BUILD_KIND)
  OPT    := -O3 $(ARCH) -g
  LDSAN  :=
endif
ifeq ($(CUDA),1)
  $(error make CUDA=1: the CUDA backend (src/nn/cuda/) is not built yet; see issue "GPU training and inference")
endif

CFLAGS  := $(CFLAGS_BASE) $(OPT)

LIB_SRC  := $(filter-out src/core/dist_mpi.c, \
            $(wildcard src/core/*.c src/io/*.c src/dsp/*.c src/vision/*.c src/nn/*.c src/nn/ref/*.c \
                       src/model/*.c src/data/*.c src/train/*.c src/api/*.c))
CLI_SRC  := $(wildcard src/cli/*.c)
REF_SRC  := $(wildcard src/nn/ref/*.c)
TEST_SRC := $(wildcard tests/*/test_*.c)
ifneq ($(MPI),1)
  TEST_SRC := $(filter-out tests/mpi/%, $(TEST_SRC))
endif
BENCH_SRC:= $(wildcard bench/bench_*.c)

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
ifeq ($(MPI),1)
  INTERNAL_OBJ := $(filter-out $(BUILD)/src/core/dist.o, $(LIB_OBJ)) $(BUILD)/src/core/dist_mpi.o
else
  INTERNAL_OBJ := $(LIB_OBJ)
endif
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
F64_OBJ  := $(REF_SRC:%.c=$(BUILD)/f64/%.o)
TEST_BIN := $(TEST_SRC:%.c=$(BUILD)/%)
TESTSUP_OBJ := $(BUILD)/tests/support.o
BENCH_BIN:= $(BENCH_SRC:%.c=$(BUILD)/%)

LIB_INTERNAL := $(BUILD)/libavemo_internal.a
LIB      := $(BUILD)/libavemo.a
SO       := $(BUILD)/libavemo.so
BIN      := avemo
VERSION  := $(shell sed -n 's/^\#define AVEMO_VERSION "\(.*\)"/\1/p' include/avemo.h)
SONAME   := libavemo.so.$(firstword $(subst ., ,$(VERSION)))

# Library objects: hidden unless include/avemo.h marks them AVEMO_API, and position-independent so that the
# same objects make libavemo.so (measured: no cost to the conv and MobileNetV2 benches, see README).
# A build folder whose objects were compiled with other flags (older trees) is rebuilt: the stamp file
# changes whenever LIB_CFLAGS does.
LIB_CFLAGS := -fvisibility=hidden -fPIC
LIB_CFLAGS_STAMP := $(BUILD)/lib_cflags.txt
$(LIB_OBJ): CFLAGS += $(LIB_CFLAGS)
$(BUILD)/src/core/dist_mpi.o: CFLAGS += $(LIB_CFLAGS) $(MPI_CFLAGS)
$(BUILD)/src/core/dist_mpi.o: $(LIB_CFLAGS_STAMP)
$(LIB_OBJ): $(LIB_CFLAGS_STAMP)
# $(PREFIX)/share/avemo, where `make install` puts the bundled models and the MTCNN weights, compiled into
# src/data/weights.c (rebuilt when PREFIX changes: its own stamp). `make install DESTDIR=D` keeps it as is.
PREFIX ?= /usr/local
DATADIR := $(PREFIX)/share/avemo
SHARED ?= $(or $(AVEMO_SHARED),../shared)
DATADIR_STAMP := $(BUILD)/datadir.txt
$(BUILD)/src/data/weights.o: CFLAGS += -DAVEMO_DATADIR='"$(DATADIR)"'
$(BUILD)/src/data/weights.o: $(DATADIR_STAMP)
$(DATADIR_STAMP): FORCE
	@mkdir -p $(dir $@)
	@echo '$(DATADIR)' | cmp -s - $@ || echo '$(DATADIR)' >$@
$(LIB_CFLAGS_STAMP): FORCE
	@mkdir -p $(dir $@)
	@echo '$(LIB_CFLAGS)' | cmp -s - $@ || echo '$(LIB_CFLAGS)' >$@
FORCE:

.PHONY: all test bench clean fixtures install fuzz style deadcode models FORCE
.SECONDARY: $(F64_OBJ)
all: $(BIN) $(LIB) $(SO)

# ./avemo is the last plain or MPI=1 build's program (compared, not dated: the two builds alternate).
ifeq ($(SAN),1)
$(BIN): $(BUILD)/avemo
	@true
else
$(BIN): $(BUILD)/avemo FORCE
	@cmp -s $< $@ || cp $< $@
endif

$(BUILD)/avemo: $(CLI_OBJ) $(LIB_INTERNAL)
	$(CC) $(OPT) $(LDSAN) -o $@ $(CLI_OBJ) $(LIB_INTERNAL) $(MPI_LIBS) $(LDLIBS)

$(LIB_INTERNAL): $(INTERNAL_OBJ)
	@rm -f $@
	ar rcs $@ $^

# One relocatable object (`ld -r`, commons allocated) in which every symbol but the default-visible avemo_*
# is then made local: nothing but the public API can clash with, or be interposed by, a program's own
# `model_create` or `rng_seed`. The avemo_* pattern also localizes what GCC makes global whatever the
# visibility (the locks of named `omp critical` sections, `.gomp_critical_user_*`); libavemo.so gets the
# same rule as a version script.
$(LIB): $(LIB_OBJ)
	@rm -f $@ $(BUILD)/libavemo_public.o
	ld -r -d -o $(BUILD)/libavemo_public.o $^
	objcopy --localize-hidden --wildcard --keep-global-symbol='avemo_*' $(BUILD)/libavemo_public.o
	ar rcs $@ $(BUILD)/libavemo_public.o
	@rm -f $(BUILD)/libavemo_public.o

$(SO): $(LIB_OBJ)
	@echo '{ global: avemo_*; local: *; };' >$(BUILD)/libavemo.map
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script,$(BUILD)/libavemo.map -Wl,--no-undefined \
	  $(OPT) $(LDSAN) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "CC  $<"
	@$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# float64 build of the plain reference kernels, for finite-difference gradient checks
$(BUILD)/f64/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "CC  $< (float64)"
	@$(CC) $(CFLAGS) -DAVEMO_REAL_F64 -MMD -MP -c $< -o $@

$(BUILD)/tests/%: tests/%.c $(LIB_INTERNAL) $(F64_OBJ) $(TESTSUP_OBJ)
	@mkdir -p $(dir $@)
	@echo "LD  $@"
	@$(CC) $(CFLAGS) -Itests -o $@ $< $(TESTSUP_OBJ) $(F64_OBJ) $(LIB_INTERNAL) $(LDSAN) $(MPI_LIBS) $(LDLIBS)

$(TESTSUP_OBJ): tests/support.c tests/test.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -c $< -o $@

$(BUILD)/bench/%: bench/%.c $(LIB_INTERNAL)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -o $@ $< $(LIB_INTERNAL) $(LDSAN) $(MPI_LIBS) $(LDLIBS)

# The style check runs last, as one more entry in the "N passed, N failed" count.
test: $(BIN) $(TEST_BIN) $(LIB) $(SO)
	@BUILD=$(BUILD) AVEMO_BIN=$(CURDIR)/$(BUILD)/avemo AVEMO_MAKE_ARGS='SAN=$(SAN) MPI=$(MPI) BUILD=$(BUILD)' \
	  ./tests/run.sh $(TEST_BIN) tools/style_check.py

# Retrains the bundled models of models/ from $(SHARED) (scripts/make_models.sh: seeds, settings, time taken;
# about 100 min of 2 cores for the face, a few minutes for the voice).
models: $(BIN)
	SHARED=$(SHARED) scripts/make_models.sh

style: $(LIB) $(SO)
	@BUILD=$(BUILD) tools/style_check.py

# Dead code: external functions that no other object references, over an -O0 build of src/, tests/, bench/
# and examples/ (so that no call is lost to inlining). Lists them; does not fail.
XREF_SRC := $(LIB_SRC) $(CLI_SRC) $(TEST_SRC) tests/support.c $(BENCH_SRC) $(wildcard examples/*.c tests/fuzz/fuzz_*.c)
XREF_OBJ := $(XREF_SRC:%.c=$(BUILD)/xref/%.o)
$(BUILD)/xref/%.o: %.c
	@mkdir -p $(dir $@)
	@$(CC) $(CFLAGS_BASE) -O0 -Itests -c $< -o $@

deadcode: $(XREF_OBJ)
	@tools/dead_code.py $(XREF_OBJ)

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

$(FUZZ_BUILD)/libavemo_internal.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/tests/fuzz/%: tests/fuzz/%.c $(FUZZ_BUILD)/libavemo_internal.a
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_BUILD)/libavemo_internal.a $(LDLIBS)

fuzz: $(FUZZ_BIN)
	@./tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BIN)

# The program, the libraries, the header, and the data folder $(PREFIX)/share/avemo: the bundled models of
# models/ and the MTCNN weights, copied from $(SHARED)/weights/mtcnn at install time (src/data/weights.h).
LIBDIR := $(DESTDIR)$(PREFIX)/lib
install: $(BIN) $(LIB) $(SO)
	@test -r $(SHARED)/weights/mtcnn/mtcnn_model-weights_manifest.json || \
	  { echo "make install: $(SHARED)/weights/mtcnn/ is missing (set SHARED= or AVEMO_SHARED)" >&2; exit 2; }
	install -d $(DESTDIR)$(PREFIX)/bin $(LIBDIR) $(DESTDIR)$(PREFIX)/include $(LIBDIR)/pkgconfig
	install -d $(DESTDIR)$(DATADIR)/mtcnn
	install -m 755 $(BUILD)/avemo $(DESTDIR)$(PREFIX)/bin/avemo
	install -m 644 models/face.safetensors models/voice.safetensors models/README.md $(DESTDIR)$(DATADIR)/
	install -m 644 $(SHARED)/weights/mtcnn/* $(DESTDIR)$(DATADIR)/mtcnn/
	install -m 644 $(LIB) $(LIBDIR)/libavemo.a
	install -m 755 $(SO) $(LIBDIR)/libavemo.so.$(VERSION)
	ln -sf libavemo.so.$(VERSION) $(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(LIBDIR)/libavemo.so
	install -m 644 include/avemo.h $(DESTDIR)$(PREFIX)/include/avemo.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@PKGS@|$(PKGS)|' -e 's|@VERSION@|$(VERSION)|' avemo.pc.in > $(LIBDIR)/pkgconfig/avemo.pc

clean:
	rm -rf build build-san build-mpi build-san-mpi $(BIN)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
