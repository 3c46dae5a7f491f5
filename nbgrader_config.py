"""nbgrader configuration for the lossbook course.

nbgrader reads this file from the course directory (this folder). The settings themselves live
in the grader package: :func:`lossbook_grader.config.configure_course` maps nbgrader's *source*
folder to ``solutions/`` and its *release* folder to ``exercises/``, keeps the gradebook in
``gradebook.db`` here (or at ``LOSSBOOK_GRADEBOOK_URL``) and makes autograde run student code
in the sandbox. Course-specific settings (a late-submission policy, an LMS file-name pattern)
go below the call.
"""

import os

from lossbook_grader.config import configure_course

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

configure_course(c, os.path.dirname(os.path.abspath(__file__)))
