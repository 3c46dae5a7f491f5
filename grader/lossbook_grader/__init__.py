"""Grading tools for instructors: a sandboxed nbgrader autograde and the ``lossbook grade`` command.

Nothing here is imported by ``import lossbook``; students never need it. The pieces:

* :mod:`lossbook.grading.sandbox` starts a Jupyter kernel inside a bubblewrap sandbox (no
  network, bounded memory, CPU time and file size, a filesystem view that hides the gradebook,
  the other submissions, the solutions and the instructor's home);
* :mod:`lossbook.grading.guard` runs inside that kernel and undoes tampering (a replaced
  ``numpy.testing.assert_allclose``, a silenced traceback) before every test cell;
* :mod:`lossbook.grading.execute` is the nbgrader preprocessor that uses both, caps output and
  turns a dead or runaway kernel into failed cells instead of a lost submission;
* :mod:`lossbook.grading.collect` turns an LMS export into nbgrader's ``submitted/`` folder;
* :mod:`lossbook.grading.cli` is ``lossbook grade``: collect, autograde in parallel, feedback,
  export.

``nbgrader_config.py`` calls :func:`lossbook.grading.config.configure` so that a plain
``nbgrader autograde`` uses the sandbox too.
"""
