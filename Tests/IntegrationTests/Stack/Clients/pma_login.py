#!/usr/bin/env python3
"""A real phpMyAdmin cookie login, as a browser does it: scripts/check's own (webapps.py), with
the server's certificate verified.

    PMA_PASSWORD=... pma_login.py BASE USER --cacert FILE [--db NAME --table TABLE]

Prints every request and its status, then "OK: ..." or "FAIL: ...". Exit status: 0 logged in
(and the table's rows were listed), 1 the login or a check failed, 2 usage or connection error.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), *[os.pardir] * 4, "scripts", "check"))

from browser import Browser  # noqa: E402
from webapps import phpmyadmin_login  # noqa: E402


def main():
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("base", help="phpMyAdmin's URL, e.g. https://phpmyadmin:5000/")
    arguments.add_argument("user")
    arguments.add_argument("--cacert", required=True, help="verify the server against this certificate")
    arguments.add_argument("--db", help="database of the table whose rows are listed after the login")
    arguments.add_argument("--table", help="that table (needs --db)")
    options = arguments.parse_args()
    if bool(options.db) != bool(options.table):
        arguments.error("--db and --table go together")
    browser = Browser(cafile=options.cacert)
    try:
        ok, evidence = phpmyadmin_login(options.base, options.user, os.environ["PMA_PASSWORD"], options.db, options.table, browser)
    except OSError as error:
        print("\n".join(browser.visited + [f"ERROR: {error}"]))
        return 2
    print("\n".join(browser.visited + [f"{'OK' if ok else 'FAIL'}: {evidence}"]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
