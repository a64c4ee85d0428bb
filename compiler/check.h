/*
 * check.h - the serial phase of `struere check`: per environment, index
 * the definitions by slug (duplicates), then run every kind's reference
 * checks and the project-wide ones.
 */
#ifndef STRUERE_CHECK_H
#define STRUERE_CHECK_H

struct project;

/* check_project's result when memory ran out: the diagnostics are
 * incomplete and must not be reported as the project's. */
#define CHECK_ENOMEM (-2)

/* Loads and checks the project in dir (threads as in project_load).
 * Diagnostics end up sorted and de-duplicated in p->diags. Returns 0, -1
 * when the schemas themselves are unusable (an internal error), or
 * CHECK_ENOMEM. */
int check_project(struct project *p, const char *dir, unsigned threads);

/* The serial phase alone, on a project whose definitions are loaded. */
void check_definitions(struct project *p);

#endif
