/* version.h - the compiler's version, recorded in every bundle manifest. */
#ifndef STRUERE_VERSION_H
#define STRUERE_VERSION_H
#define STRUERE_VERSION "0.1.0"
#endif
