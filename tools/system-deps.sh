#!/usr/bin/env bash
# The system programs the tests need, beyond Python: `make system-deps` (and `make test`, which
# runs it first) makes sure they are there, installing them with apt-get where it can.
#
#   bwrap     (package bubblewrap): the sandbox that autograding runs student code in
#             (grader/lossbook_grader/sandbox.py; tests/grader/: test_sandbox.py,
#             test_grading.py, test_hostile.py, test_workflow.py)
#   chromium  (package chromium): the browser that drives the built site (tests/book/test_site.py)
#   postgres  (package postgresql; postgresql-server on Fedora): the PostgreSQL server that the
#             tests start privately, on a Unix socket of their own, to grade into a real
#             database (tests/grader/servers.py). Present when initdb, pg_ctl and postgres are
#             all found: on PATH, or in the newest /usr/lib/postgresql/<version>/bin (where
#             Debian and Ubuntu put them, off PATH).
#
# Usage: tools/system-deps.sh [bwrap] [chromium] [postgres]   (no argument: all three)
#
# Environment: LOSSBOOK_CHROMIUM, the browser to use (default: /usr/bin/chromium, else
# chromium or chromium-browser on PATH); LOSSBOOK_PG_BIN, a folder holding initdb, pg_ctl and
# postgres (when set, the only place looked at). The tests read the same variables.
#
# Installs only with permission: as root, or with sudo that asks no password. Otherwise (or
# where apt-get is missing: not Debian/Ubuntu) it stops at once with exit status 3 and one
# message naming what is missing and the command that installs it. It never skips anything.
# Only bash builtins are needed to find that out, so it answers in well under a second.
set -uo pipefail

wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(bwrap chromium postgres)

find_chromium() {
  if [ -n "${LOSSBOOK_CHROMIUM:-}" ]; then
    [ -x "$LOSSBOOK_CHROMIUM" ] && echo "$LOSSBOOK_CHROMIUM"
    return
  fi
  if [ -x /usr/bin/chromium ]; then echo /usr/bin/chromium; return; fi
  command -v chromium 2>/dev/null || command -v chromium-browser 2>/dev/null
}

PG_PROGRAMS=(initdb pg_ctl postgres)

# Whether the folder $1 holds all of the PostgreSQL server programs.
pg_complete() {
  local program
  for program in "${PG_PROGRAMS[@]}"; do [ -x "$1/$program" ] || return 1; done
}

# Succeeds when the PostgreSQL server programs are found (see the top of this file).
find_postgres() {
  if [ -n "${LOSSBOOK_PG_BIN:-}" ]; then
    pg_complete "$LOSSBOOK_PG_BIN"
    return
  fi
  local program dir version found=0 newest=-1
  for program in "${PG_PROGRAMS[@]}"; do
    command -v "$program" >/dev/null 2>&1 && found=$((found + 1))
  done
  [ "$found" -eq ${#PG_PROGRAMS[@]} ] && return 0
  # The newest version with all three (numerically: 9.6 < 10 < 15), the order servers.py uses.
  for dir in /usr/lib/postgresql/*/bin; do
    version=${dir#/usr/lib/postgresql/}; version=${version%/bin}; version=${version%%.*}
    [[ "$version" =~ ^[0-9]+$ ]] && [ "$version" -gt "$newest" ] && pg_complete "$dir" && newest=$version
  done
  [ "$newest" -ge 0 ]
}

# Fills `missing` (program names), `packages` (Debian package names) and `fedora` (Fedora's).
check() {
  missing=(); packages=(); fedora=()
  local program
  for program in "${wanted[@]}"; do
    case "$program" in
      bwrap) command -v bwrap >/dev/null 2>&1 || { missing+=(bwrap); packages+=(bubblewrap); fedora+=(bubblewrap); } ;;
      chromium) [ -n "$(find_chromium)" ] || { missing+=("chromium${LOSSBOOK_CHROMIUM:+ (LOSSBOOK_CHROMIUM=$LOSSBOOK_CHROMIUM)}"); packages+=(chromium); fedora+=(chromium); } ;;
      postgres) find_postgres || { missing+=("postgres${LOSSBOOK_PG_BIN:+ (LOSSBOOK_PG_BIN=$LOSSBOOK_PG_BIN)}"); packages+=(postgresql); fedora+=(postgresql-server); } ;;
      *) echo "tools/system-deps.sh: unknown program '$program' (expected bwrap, chromium or postgres)" >&2; exit 2 ;;
    esac
  done
}

check
[ ${#missing[@]} -eq 0 ] && exit 0

# How we may install: directly as root, through sudo without a password, or not at all.
sudo=()
can_install=yes
if ! command -v apt-get >/dev/null 2>&1; then
  can_install=no; why="apt-get is not available: this is not Debian or Ubuntu"
elif [ "$EUID" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
    sudo=(sudo -n)
  else
    can_install=no; why="installing needs root, and sudo is missing or asks for a password"
  fi
fi

if [ "$can_install" = yes ]; then
  installing=("${packages[@]}")
  echo "== installing ${packages[*]} with apt-get (for the tests: ${missing[*]} missing)"
  export DEBIAN_FRONTEND=noninteractive
  # apt's progress is kept, and shown only if it fails.
  if output=$({ "${sudo[@]}" apt-get update -qq && \
                "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}"; } 2>&1)
  then
    check
    [ ${#missing[@]} -eq 0 ] && { echo "== installed ${installing[*]}"; exit 0; }
    why="apt-get ran, but ${missing[*]} is still not found"
  else
    printf '%s\n' "$output" >&2
    why="apt-get failed (its output is above)"
  fi
fi

{
  printf 'error: the tests need programs that are not installed: %s\n' "${missing[*]}"
  printf '  (%s)\n' "$why"
  printf '  bwrap is the sandbox that autograding runs student code in; chromium is the browser that\n'
  printf '  tests the built site; postgres is the database server the grading tests start for\n'
  printf '  themselves. Nothing is skipped without them: install them, then run make again.\n'
  printf '    Debian/Ubuntu:  sudo apt-get install %s\n' "${packages[*]}"
  printf '    Fedora:         sudo dnf install %s\n' "${fedora[*]}"
  printf '  (Ubuntu installs chromium as a snap; any Chromium works: set LOSSBOOK_CHROMIUM to its path.)\n'
  printf '  (A PostgreSQL installed elsewhere works too: set LOSSBOOK_PG_BIN to the folder of its initdb.)\n'
} >&2
exit 3
