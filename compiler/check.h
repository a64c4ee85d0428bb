/*
 * check.h - the serial phase of `struere check`: per environment, index
 * the definitions by slug (duplicates), then run every kind's reference
 * checks and the project-wide ones.
 */
#ifndef STRUERE_CHECK_H
#define STRUERE_CHECK_H

struct project;

/* Loads and checks the project in dir (threads as in project_load).
 * Diagnostics end up sorted and de-duplicated in p->diags. Returns 0, or
 * -1 when the schemas themselves are unusable (an internal error). */
int check_project(struct project *p, const char *dir, unsigned threads);

/* The serial phase alone, on a project whose definitions are loaded. */
void check_definitions(struct project *p);

#endif
