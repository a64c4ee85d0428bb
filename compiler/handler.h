/*
 * handler.h - what a custom tool's handler may do to records, read from
 * its source text: the access analysis (access.c) and the cascade check
 * (kind_automation.c) both take it from here.
 *
 * A handler is the body of async (args, context, struere, fetch) => {...}
 * (struere-model §2.3): it reaches records only through `struere`. Each
 * use of it that reads struere.entity.METHOD( (create, get, query,
 * update, delete; `?.` allowed, white space between the parts) adds that
 * method's action. Any other use (struere handed on, indexed, a method
 * not known), and any `eval` or `arguments` (which can reach it without
 * naming it), may do all five. The words are matched whole, wherever
 * they are (a comment or a string that names struere counts too: the
 * answer errs on the side of more), after each \uXXXX or \u{X} escape
 * of an ASCII character is read as that character (JavaScript reads
 * `str\u0075ere` as `struere`); a NUL is a character like any other,
 * not the text's end. A handler that never names them, or none, does
 * nothing to records.
 */
#ifndef STRUERE_HANDLER_H
#define STRUERE_HANDLER_H

#include <stddef.h>

enum handler_action {
    HANDLER_CREATE = 1u << 0,
    HANDLER_READ = 1u << 1,
    HANDLER_UPDATE = 1u << 2,
    HANDLER_DELETE = 1u << 3,
    HANDLER_LIST = 1u << 4,
    HANDLER_ANY = (1u << 5) - 1
};

/* The actions handler text `h` of `len` bytes (NULL: none) may do, as
 * HANDLER_* bits; HANDLER_ANY when out of memory. */
unsigned handler_actions(const char *h, size_t len);

#endif
