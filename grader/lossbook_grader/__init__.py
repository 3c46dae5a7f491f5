"""The lossbook course's grader, for instructors: a sandboxed nbgrader autograde and the
``lossbook-grade`` command.

A distribution of its own (``lossbook-grader``, in the repository's ``grader/`` folder), apart
from ``lossbook``, the library students install: students never need it, and nothing in
``lossbook`` imports it or nbgrader. The pieces:

* :mod:`lossbook_grader.sandbox` starts a Jupyter kernel inside a bubblewrap sandbox (no
  network, bounded memory, CPU time and file size, a filesystem view that hides the gradebook,
  the other submissions, the solutions and the instructor's home);
* :mod:`lossbook_grader.guard` runs inside that kernel and undoes tampering (a replaced
  ``numpy.testing.assert_allclose``, a silenced traceback) before every test cell;
* :mod:`lossbook_grader.ban` is the reference ban hidden tests call a student's function
  through, where every path to a forbidden computation fails;
* :mod:`lossbook_grader.feedback` strips hidden tests from nbgrader's feedback and explains
  failures in words;
* :mod:`lossbook_grader.execute` is the nbgrader preprocessor that uses both, caps output and
  turns a dead or runaway kernel into failed cells instead of a lost submission;
* :mod:`lossbook_grader.collect` turns an LMS export into nbgrader's ``submitted/`` folder;
* :mod:`lossbook_grader.cli` is ``lossbook-grade``: collect, autograde in parallel, feedback,
  export;
* :mod:`lossbook_grader.config` fills nbgrader's configuration: the course's
  ``nbgrader_config.py`` calls :func:`~lossbook_grader.config.configure_course`, so that a plain
  ``nbgrader autograde`` uses the sandbox too;
* :mod:`lossbook_grader.course` drives the real nbgrader commands on a copy of the course
  (used by the tests and the grading benchmark).
"""
