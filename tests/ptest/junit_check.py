#!/usr/bin/env python3
"""junit_check.py FILE [EXPECT_JSON]

Checks FILE against the structure of the JUnit XML schema that CI tools
read (the Jenkins/Ant junit.xsd, restated here since the tests run without
network): one <testsuites> root whose tests/failures/errors/skipped are the
sums of its <testsuite>s; each <testsuite> with name, tests, failures,
errors, skipped (non-negative integers matching its <testcase>s) and time
(a non-negative decimal); each <testcase> with name, classname, time, and at
most one of <failure>, <error> (attributes message, type; text) or
<skipped> (attribute message); no other elements or attributes than the
schema's. With EXPECT_JSON (a JSON object {"suite/case": "pass"|"fail"|
"error"|"skip"}), the statuses must be exactly those. Prints a line per
check and "junit: N passed, M failed".
"""
import json
import re
import sys
import xml.etree.ElementTree as ET

passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL " + what)


INT = re.compile(r"^[0-9]+$")
DEC = re.compile(r"^[0-9]+(\.[0-9]+)?$")
SUITES_ATTRS = {"name", "tests", "failures", "errors", "skipped", "time",
                "disabled"}
SUITE_ATTRS = {"name", "tests", "failures", "errors", "skipped", "time",
               "disabled", "timestamp", "hostname", "id", "package", "file"}
CASE_ATTRS = {"name", "classname", "time", "assertions", "status", "file",
              "line"}

text = open(sys.argv[1], "rb").read()
check(text.startswith(b'<?xml version="1.0" encoding="UTF-8"?>'),
      "XML declaration with UTF-8")
try:
    root = ET.fromstring(text)
except ET.ParseError as e:
    check(False, "well-formed XML: %s" % e)
    print("junit: %d passed, %d failed" % (passed, failed))
    sys.exit(1)
check(root.tag == "testsuites", "root is testsuites, not " + root.tag)
check(set(root.attrib) <= SUITES_ATTRS,
      "testsuites attributes: %s" % sorted(root.attrib))
totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
statuses = {}
for suite in root:
    check(suite.tag == "testsuite", "child of testsuites: " + suite.tag)
    a = suite.attrib
    check(set(a) <= SUITE_ATTRS, "testsuite attributes: %s" % sorted(a))
    for k in ("name", "tests", "failures", "errors", "skipped", "time"):
        check(k in a, "testsuite has %s" % k)
    for k in ("tests", "failures", "errors", "skipped"):
        check(INT.match(a.get(k, "")) is not None,
              "testsuite %s is an integer" % k)
    check(DEC.match(a.get("time", "")) is not None, "testsuite time")
    count = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for case in suite:
        if case.tag in ("properties", "system-out", "system-err"):
            continue
        check(case.tag == "testcase", "child of testsuite: " + case.tag)
        c = case.attrib
        check(set(c) <= CASE_ATTRS, "testcase attributes: %s" % sorted(c))
        for k in ("name", "classname", "time"):
            check(k in c, "testcase has %s" % k)
        check(DEC.match(c.get("time", "")) is not None, "testcase time")
        if "line" in c:
            check(INT.match(c["line"]) is not None, "testcase line")
        kids = list(case)
        check(len(kids) <= 1, "at most one result element per testcase")
        status = "pass"
        for k in kids:
            check(k.tag in ("failure", "error", "skipped"),
                  "result element: " + k.tag)
            allowed = {"message"} if k.tag == "skipped" else {"message",
                                                              "type"}
            check(set(k.attrib) <= allowed and "message" in k.attrib,
                  "%s attributes: %s" % (k.tag, sorted(k.attrib)))
            if k.tag != "skipped":
                check(bool((k.text or "").strip()),
                      "%s has the details as text" % k.tag)
            status = {"failure": "fail", "error": "error",
                      "skipped": "skip"}.get(k.tag, "?")
        count["tests"] += 1
        count["failures"] += status == "fail"
        count["errors"] += status == "error"
        count["skipped"] += status == "skip"
        statuses["%s/%s" % (a.get("name"), c.get("name"))] = status
    for k in count:
        check(a.get(k) == str(count[k]),
              "testsuite %s %s=%s, counted %d" % (a.get("name"), k, a.get(k),
                                                  count[k]))
        totals[k] += count[k]
for k in totals:
    check(root.attrib.get(k) == str(totals[k]),
          "testsuites %s=%s, summed %d" % (k, root.attrib.get(k), totals[k]))
if len(sys.argv) > 2:
    want = json.loads(sys.argv[2])
    check(statuses == want, "statuses %s, want %s" % (statuses, want))
print("junit: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
