#!/usr/bin/env bash
# Quick check of a few pages while editing: the whole book is built, but only the pages named
# are executed, and only their warnings count (the book's -W -n rules):
#   tools/build_pages.sh book/01-regression/2-robust-losses [book/glossary ...]
# Output: _build/pages/<first page>/_build/html. Exit status 1 if a named page has a warning or an error.
# `make book` (every page executed) remains the real check.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || { echo "usage: tools/build_pages.sh book/PAGE [book/PAGE ...]" >&2; exit 2; }
out="_build/pages/$(basename "${1%.*}")"
rm -rf "$out"; mkdir -p "$out"
pages=()
for page in "$@"; do page="${page%.ipynb}"; pages+=("${page%.md}"); done
# Every notebook of the book that was not named is rendered without being executed.
cp _config.yml "$out/_config.yml"
{
  echo "  exclude_patterns:"
  for nb in $(find book -name "*.ipynb" -not -path "*/.ipynb_checkpoints/*" | sort); do
    keep=0
    for page in "${pages[@]}"; do [ "$nb" = "$page.ipynb" ] && keep=1; done
    [ $keep = 1 ] || echo "    - \"$nb\""
  done
} > "$out/exclude.yml"
.venv/bin/python - "$out" <<'PY'
import sys, pathlib
out = pathlib.Path(sys.argv[1])
text = (out / "_config.yml").read_text()
root = pathlib.Path.cwd()
text = text.replace("lossbook_site: book/_ext", f"lossbook_site: {root}/book/_ext")
text = text.replace("  - book/references.bib", f"  - {root}/book/references.bib")
text = text.replace("  raise_on_error: true\n", "  raise_on_error: true\n" + (out / "exclude.yml").read_text(), 1)
(out / "_config.yml").write_text(text)
PY
log="$out/build.log"
status=0
.venv/bin/jupyter-book build . --config "$out/_config.yml" --path-output "$out" --builder html \
  > "$log" 2>&1 || status=$?
pattern=$(printf '%s|' "${pages[@]}"); pattern="(${pattern%|})\.(ipynb|md)"
# A warning counts if it names a page given, or no page of the book at all (a docstring that
# autodoc renders, the configuration); those of pages rendered without execution do not.
warnings=$(grep -E "(WARNING|ERROR)" "$log" | grep -v "\[IPKernelApp\] WARNING" || true)
problems=$( (grep -E "$pattern" <<< "$warnings"; grep -vE "book/[^ :]+\.(ipynb|md)" <<< "$warnings") \
  | sed '/^$/d' || true)
if [ -n "$problems" ] || ! grep -q "build succeeded" "$log"; then
  echo "$problems"; tail -20 "$log"; echo "FAILED (log: $log)"; exit 1
fi
echo "ok: ${pages[*]} (site: $out/_build/html)"
