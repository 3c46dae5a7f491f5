# lossbook setup: run this cell first. Where lossbook is missing (Colab, a fresh venv) it is
# installed; then every random generator is seeded and the device is chosen (cuda, mps, cpu).
import importlib.util
import os
import subprocess
import sys

LOSSBOOK_PIP_SPEC = os.environ.get(
    "LOSSBOOK_PIP_SPEC", "lossbook @ git+https://github.com/lossbook/lossbook@v0.1.0"
)
if importlib.util.find_spec("lossbook") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", LOSSBOOK_PIP_SPEC], check=True)

from lossbook.notebook import setup

env = setup(seed=0)
DEVICE = env.device
