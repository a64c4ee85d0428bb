# tests/alloc/alloc.mk - the allocation-failure injection programs
# (included by the Makefile). They are linked with every malloc, calloc,
# realloc, aligned_alloc, strdup and strndup of struere's own code wrapped
# by failalloc.c; nothing installed is.
FAILALLOC_LDFLAGS := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc \
                     -Wl,--wrap=aligned_alloc \
                     -Wl,--wrap=strdup,--wrap=strndup
$(B)/tests/alloc/%.o: ALL_CFLAGS += -Itests/alloc

FAILALLOC_ARENA := $(foreach f,alloc strndup strndup_shared strdup printf vprintf path \
                     grow,\
                     -Wl,--wrap=arena_$(f))
$(B)/tests/alloc/failalloc_arena.o: ALL_CFLAGS += -Icompiler

# The struere command as built (the program's objects, the libraries,
# the server's among them),
# with the wrapped allocations; each call of the compiler's arena from
# another module counts as one too, and so does each of jansson's (the
# program routes them through compiler/jsonmem.c, whose malloc is
# wrapped).
$(B)/struere-failalloc: $(PROG_OBJ) $(B)/tests/alloc/failalloc.o \
                        $(B)/tests/alloc/failalloc_arena.o \
                        $(B)/libstrueresrv.a $(B)/libstruerec.a \
                        $(B)/libstruere.a
	$(CC) $(ALL_CFLAGS) $(FAILALLOC_LDFLAGS) $(FAILALLOC_ARENA) -o $@ $^ \
	    $(LDLIBS)

$(B)/failalloc-runtime: $(B)/tests/alloc/runtime_alloc.o \
                        $(B)/tests/alloc/failalloc.o $(B)/libstruere.a
	$(CC) $(ALL_CFLAGS) $(FAILALLOC_LDFLAGS) -o $@ $^ $(LDLIBS)

FAILALLOC_BIN := $(B)/struere-failalloc $(B)/failalloc-runtime
