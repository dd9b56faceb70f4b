# libquorum: the protocol core, built with its own flags (C11, hidden
# symbols) rather than PostgreSQL's, since it knows nothing of PostgreSQL.

QUORUM_VERSION := $(shell sed -n 's/^\#define QUORUM_VERSION_STRING "\(.*\)"/\1/p' include/quorum/quorum.h)
QUORUM_SOMAJOR := $(firstword $(subst ., ,$(QUORUM_VERSION)))
QUORUM_SRCS := $(sort $(wildcard plugin/*.c))
QUORUM_OBJS := $(patsubst plugin/%.c,build/plugin/%.o,$(QUORUM_SRCS))
QUORUM_WARN = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
QUORUM_CFLAGS = -std=c11 -D_GNU_SOURCE -O2 -g -fPIC -fvisibility=hidden $(QUORUM_WARN) \
	-Iinclude -Iplugin $(QUORUM_EXTRA_CFLAGS)
QUORUM_LIBS = -lssl -lcrypto -lpthread
# The archive and shared library that hosts link are release builds: an
# internal assertion must never abort a host (a postgres worker dying from a
# signal restarts the whole server).  The sanitizer and simulator builds
# compile the same sources from QUORUM_CFLAGS alone, so they keep asserting.
QUORUM_RELEASE_CFLAGS = -DNDEBUG

build/plugin/%.o: plugin/%.c
	@mkdir -p $(dir $@)
	$(CC) $(QUORUM_CFLAGS) $(QUORUM_RELEASE_CFLAGS) -MMD -MP -c $< -o $@

build/libquorum.a: $(QUORUM_OBJS)
	rm -f $@
	ar rcs $@ $^

build/libquorum.so.$(QUORUM_VERSION): $(QUORUM_OBJS)
	$(CC) -shared -Wl,-soname,libquorum.so.$(QUORUM_SOMAJOR) -o $@ $^ $(QUORUM_LIBS)

build/libquorum.so: build/libquorum.so.$(QUORUM_VERSION)
	ln -sf libquorum.so.$(QUORUM_VERSION) $@

build/libquorum.pc: mk/libquorum.pc.in include/quorum/quorum.h
	sed -e 's|@PREFIX@|$(QUORUM_PREFIX)|g' -e 's|@VERSION@|$(QUORUM_VERSION)|g' $< > $@

QUORUM_PREFIX ?= /usr/local

all: build/libquorum.a build/libquorum.so build/libquorum.pc

.PHONY: install-lib
install-lib: build/libquorum.a build/libquorum.so build/libquorum.pc
	install -d $(DESTDIR)$(QUORUM_PREFIX)/lib/pkgconfig $(DESTDIR)$(QUORUM_PREFIX)/include/quorum
	install -m 644 build/libquorum.a $(DESTDIR)$(QUORUM_PREFIX)/lib/
	install -m 755 build/libquorum.so.$(QUORUM_VERSION) $(DESTDIR)$(QUORUM_PREFIX)/lib/
	ln -sf libquorum.so.$(QUORUM_VERSION) $(DESTDIR)$(QUORUM_PREFIX)/lib/libquorum.so.$(QUORUM_SOMAJOR)
	ln -sf libquorum.so.$(QUORUM_SOMAJOR) $(DESTDIR)$(QUORUM_PREFIX)/lib/libquorum.so
	install -m 644 include/quorum/*.h $(DESTDIR)$(QUORUM_PREFIX)/include/quorum/
	install -m 644 build/libquorum.pc $(DESTDIR)$(QUORUM_PREFIX)/lib/pkgconfig/

-include $(QUORUM_OBJS:.o=.d)
