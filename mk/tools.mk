# The command-line tools of pg_quorum (included by Makefile).
#
# pg_quorum_rejoin is a libpq client, not part of the extension's shared
# library, so it is built by its own rule (PGXS's PROGRAM would take OBJS,
# which MODULE_big already uses) and installed next to pg_ctl, where it
# also finds pg_rewind, postgres and pg_controldata.

TOOLS = tools/pg_quorum_rejoin
TOOLS_CFLAGS = -std=gnu11 -O2 -g -Wall -Wextra -Wno-unused-parameter \
	-Wmissing-prototypes -Wstrict-prototypes
TOOLS_BINDIR := $(shell $(PG_CONFIG) --bindir)
TOOLS_INCLUDEDIR := $(shell $(PG_CONFIG) --includedir)
TOOLS_LIBDIR := $(shell $(PG_CONFIG) --libdir)

all: $(TOOLS)

# It shares the parser of timeline history files with the extension.
tools/pg_quorum_rejoin: tools/pg_quorum_rejoin.c extension/timeline_history.c \
		extension/timeline_history.h include/quorum/types.h
	$(CC) $(TOOLS_CFLAGS) -I$(TOOLS_INCLUDEDIR) -Iinclude -Iextension \
		-DPGQ_PG_BINDIR='"$(TOOLS_BINDIR)"' -o $@ $(filter %.c,$^) \
		-L$(TOOLS_LIBDIR) -lpq

.PHONY: install-tools uninstall-tools
install: install-tools
install-tools: $(TOOLS)
	$(MKDIR_P) '$(DESTDIR)$(TOOLS_BINDIR)'
	$(INSTALL_PROGRAM) $(TOOLS) '$(DESTDIR)$(TOOLS_BINDIR)/'

uninstall: uninstall-tools
uninstall-tools:
	rm -f $(addprefix '$(DESTDIR)$(TOOLS_BINDIR)'/,$(notdir $(TOOLS)))

EXTRA_CLEAN += $(TOOLS)

# PGXS tracks no header dependencies: rebuild the extension's objects when
# a header they include changes, so that no object keeps an old layout of
# the shared-memory structs.
$(OBJS): $(wildcard extension/*.h include/quorum/*.h)
