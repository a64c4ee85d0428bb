/*
 * trust_policy.h - the fixed trust policy of fuzz_trust.c and
 * fuzz_statement.c: the trust.json that `struere trust add` (alice, bob)
 * and `trust require production 2` wrote in make-trust-seeds.sh, whose
 * fixed test keys have the seeds 32 x 0x11 (alice) and 32 x 0x22 (bob).
 */
#ifndef STRUERE_FUZZ_TRUST_POLICY_H
#define STRUERE_FUZZ_TRUST_POLICY_H

static const char fixed_policy[] =
    "{\"chain\":[{\"policy\":\"{\\\"keys\\\":[{\\\"key\\\":\\\"ed25519:"
    "0EqyMnQrtKs6E2i9RhXk5tAiSrcaAWuvhSCjMsl3hzc=\\\",\\\"name\\\":\\\""
    "alice\\\"}],\\\"previous\\\":null,\\\"require\\\":{\\\"development"
    "\\\":0,\\\"eval\\\":0,\\\"production\\\":0},\\\"version\\\":1}\","
    "\"signatures\":[]},{\"policy\":\"{\\\"keys\\\":[{\\\"key\\\":\\\"e"
    "d25519:0EqyMnQrtKs6E2i9RhXk5tAiSrcaAWuvhSCjMsl3hzc=\\\",\\\"name\\"
    "\":\\\"alice\\\"},{\\\"key\\\":\\\"ed25519:oJql9HpnWYAv+VX43C0qFKX"
    "JnSO+l/hkEn/5ODRVpPA=\\\",\\\"name\\\":\\\"bob\\\"}],\\\"previous"
    "\\\":\\\"d4a00f5f50433f7898f0982041a377befe451d8a1bee8be2d3d0d6e27"
    "ea900f6\\\",\\\"require\\\":{\\\"development\\\":0,\\\"eval\\\":0,"
    "\\\"production\\\":0},\\\"version\\\":2}\",\"signatures\":[]},{\"p"
    "olicy\":\"{\\\"keys\\\":[{\\\"key\\\":\\\"ed25519:0EqyMnQrtKs6E2i9"
    "RhXk5tAiSrcaAWuvhSCjMsl3hzc=\\\",\\\"name\\\":\\\"alice\\\"},{\\\""
    "key\\\":\\\"ed25519:oJql9HpnWYAv+VX43C0qFKXJnSO+l/hkEn/5ODRVpPA=\\"
    "\",\\\"name\\\":\\\"bob\\\"}],\\\"previous\\\":\\\"99a4d54701315d2"
    "465b6055f280edc724a8792faeb226f16a45d8fed4dd901c9\\\",\\\"require"
    "\\\":{\\\"development\\\":0,\\\"eval\\\":0,\\\"production\\\":2},"
    "\\\"version\\\":3}\",\"signatures\":[]}],\"format\":\"struere-trus"
    "t/1\"}";

#endif
