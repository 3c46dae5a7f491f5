#!/usr/bin/env bash
# The system programs the tests need, beyond Python: `make system-deps` (and `make test`, which
# runs it first) makes sure they are there, installing them with apt-get where it can.
#
#   bwrap     (package bubblewrap): the sandbox that autograding runs student code in
#             (grader/lossbook_grader/sandbox.py; tests/grader/: test_sandbox.py,
#             test_grading.py, test_hostile.py, test_workflow.py)
#   chromium  (package chromium): the browser that drives the built site (tests/book/test_site.py)
#
# Usage: tools/system-deps.sh [bwrap] [chromium]   (no argument: both)
#
# Environment: LOSSBOOK_CHROMIUM, the browser to use (default: /usr/bin/chromium, else
# chromium or chromium-browser on PATH); the tests read the same variable.
#
# Installs only with permission: as root, or with sudo that asks no password. Otherwise (or
# where apt-get is missing: not Debian/Ubuntu) it stops at once with exit status 3 and one
# message naming what is missing and the command that installs it. It never skips anything.
# Only bash builtins are needed to find that out, so it answers in well under a second.
set -uo pipefail

wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(bwrap chromium)

find_chromium() {
  if [ -n "${LOSSBOOK_CHROMIUM:-}" ]; then
    [ -x "$LOSSBOOK_CHROMIUM" ] && echo "$LOSSBOOK_CHROMIUM"
    return
  fi
  if [ -x /usr/bin/chromium ]; then echo /usr/bin/chromium; return; fi
  command -v chromium 2>/dev/null || command -v chromium-browser 2>/dev/null
}

# Fills `missing` (program names) and `packages` (Debian package names).
check() {
  missing=(); packages=()
  local program
  for program in "${wanted[@]}"; do
    case "$program" in
      bwrap) command -v bwrap >/dev/null 2>&1 || { missing+=(bwrap); packages+=(bubblewrap); } ;;
      chromium) [ -n "$(find_chromium)" ] || { missing+=("chromium${LOSSBOOK_CHROMIUM:+ (LOSSBOOK_CHROMIUM=$LOSSBOOK_CHROMIUM)}"); packages+=(chromium); } ;;
      *) echo "tools/system-deps.sh: unknown program '$program' (expected bwrap or chromium)" >&2; exit 2 ;;
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
  printf '  tests the built site. Nothing is skipped without them: install them, then run make again.\n'
  printf '    Debian/Ubuntu:  sudo apt-get install %s\n' "${packages[*]}"
  printf '    Fedora:         sudo dnf install %s\n' "${packages[*]}"
  printf '  (Ubuntu installs chromium as a snap; any Chromium works: set LOSSBOOK_CHROMIUM to its path.)\n'
} >&2
exit 3
