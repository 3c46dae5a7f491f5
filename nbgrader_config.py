"""nbgrader configuration for the lossbook course.

nbgrader reads this file from the course directory (this folder). The settings themselves live
in the grader package: :func:`lossbook_grader.config.configure_course` maps nbgrader's *source*
folder to ``solutions/`` and its *release* folder to ``exercises/``, keeps the gradebook in
``gradebook.db`` here (or at ``LOSSBOOK_GRADEBOOK_URL``) and makes autograde run student code
in the sandbox. Course-specific settings (a late-submission policy, an LMS file-name pattern)
go below the call.
"""

import os
import sys

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

try:
    from lossbook_grader.config import configure_course
except ImportError as error:
    # Without the grader, nbgrader would log this file's error and go on with its defaults:
    # student code would run unsandboxed and unguarded. Only a student's `nbgrader validate`
    # may go on (it runs their own notebook); every other command stops here. SystemExit,
    # unlike an Exception, is not swallowed by traitlets' config loader.
    if "validate" not in sys.argv[1:2]:
        raise SystemExit(
            f"nbgrader_config.py: the lossbook grader is not installed ({error}). Install it "
            "with `make venv`, or `pip install -e grader` in this folder, and run again."
        ) from error
else:
    configure_course(c, os.path.dirname(os.path.abspath(__file__)))
