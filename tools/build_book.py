"""Build the book, executing every page fresh, several pages at a time.

    python tools/build_book.py [--path-output DIR] [--jobs N]

``make book``, the test suite (tests/conftest.py) and ``bench/course.py`` all build the book with
this command. Jupyter Book 1 executes the notebooks of a book one after another; with a chapter
in four to six pages, each of which starts a kernel and imports torch, that is most of the time
of a build. So the build runs in two steps:

1. Every notebook page of ``_toc.yml`` is executed with nbclient, ``--jobs`` at a time (default:
   the number of CPUs), each in its own folder as Jupyter Book does, with the timeout of
   ``_config.yml``. The executed notebooks go into a jupyter-cache that is emptied first, so
   nothing executed by an earlier build is ever reused (the cache would not see an edit to
   ``lossbook`` itself). Each kernel gets ``OMP_NUM_THREADS`` = CPUs / jobs, so the pages that
   run side by side do not fight over the cores.
2. ``jupyter-book build . --builder html -W -n --keep-going`` with ``execute_notebooks: cache``
   (``_config.yml``) then finds every page in that cache and only renders it. A page that failed
   in step 1 is not in the cache, so Jupyter Book executes it again itself and the build fails
   with its traceback (``raise_on_error``). Outputs on stderr fail the build as before
   (``nb_output_stderr: warn`` under -W).

The exit status is that of ``jupyter-book build``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import yaml

from toc import ROOT, toc_pages


def toc_notebooks() -> list[Path]:
    """The notebook pages of _toc.yml, in reading order."""
    return [ROOT / f"{p}.ipynb" for p in toc_pages() if (ROOT / f"{p}.ipynb").exists()]


def execute(path: str, timeout: int) -> tuple[str, str | None, float, str | None]:
    """Run one notebook in its folder; (path, executed notebook as JSON or None, seconds, error)."""
    import nbformat
    from jupyter_cache.executors.utils import single_nb_execution

    nb = nbformat.read(path, as_version=4)
    result = single_nb_execution(nb, cwd=str(Path(path).parent), timeout=timeout,
                                 allow_errors=False, meta_override=True)
    if result.err is not None:
        return path, None, result.time, f"{type(result.err).__name__}: {str(result.err)[-2000:]}"
    return path, nbformat.writes(nb), result.time, None


def execute_all(notebooks: list[Path], cache_path: Path, jobs: int, timeout: int) -> list[str]:
    """Execute the notebooks into a fresh (emptied) jupyter-cache; return the failures."""
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    shutil.rmtree(cache_path, ignore_errors=True)
    cache = get_cache(str(cache_path))
    cpus = os.cpu_count() or 1
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, cpus // jobs)))  # the kernels inherit it
    failures = []
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(execute, str(p), timeout) for p in notebooks]
        for future in as_completed(futures):
            path, text, seconds, error = future.result()
            name = Path(path).relative_to(ROOT).as_posix() if Path(path).is_relative_to(ROOT) else path
            if error:
                failures.append(f"{name}: {error}")
                print(f"  {seconds:6.1f} s  {name}  FAILED (the build will run it again and stop)",
                      flush=True)
                continue
            # Cached under the notebook's own text: Jupyter Book finds it by the same hash.
            cache.cache_notebook_bundle(
                CacheBundleIn(nbformat.reads(text, as_version=4), path,
                              data={"execution_seconds": seconds}),
                check_validity=False, overwrite=True)
            print(f"  {seconds:6.1f} s  {name}", flush=True)
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path-output", type=Path, default=ROOT,
                        help="the site goes to PATH/_build/html (default: the repository)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="notebooks executed at the same time (default: the number of CPUs)")
    args = parser.parse_args(argv)

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "cache", "_config.yml: execute_notebooks: cache"
    out = args.path_output.resolve()
    build = out / "_build"
    for stale in ("html", ".doctrees", "jupyter_execute", ".jupyter_cache"):
        shutil.rmtree(build / stale, ignore_errors=True)

    # Pages that depend on the machine (chapter 3 searches Python's own documentation) check
    # their claims only on the text they were written on, except in the build, where it must be.
    os.environ["LOSSBOOK_BOOK_BUILD"] = "1"
    start = time.perf_counter()
    print(f"executing the notebooks, {args.jobs} at a time", flush=True)
    failures = execute_all(toc_notebooks(), build / ".jupyter_cache", max(1, args.jobs),
                           int(config["execute"].get("timeout", 30)))
    print(f"executed in {time.perf_counter() - start:.1f} s; now the site", flush=True)

    jb = Path(sys.executable).with_name("jupyter-book")
    command = [str(jb), "build", str(ROOT), "--builder", "html", "-W", "-n", "--keep-going"]
    if out != ROOT:
        command += ["--path-output", str(out)]
    status = subprocess.run(command, cwd=ROOT).returncode
    for failure in failures:
        print(f"failed: {failure}", file=sys.stderr)
    return status or (1 if failures else 0)


if __name__ == "__main__":
    sys.exit(main())
