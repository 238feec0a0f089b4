"""Local ModelArts emulator: the visualization-job API and the IAM calls it depends on.

Standard library only, so it starts fast and needs nothing installed; see ``ModelArtsEmulator``.
"""

from .emulator import SAMPLE_JOBS_PATH, ModelArtsEmulator
from .iam import DEFAULT_PROJECT_ID, EmulatorCredentials
from .records import RequestRecord
from .routes import ROUTES

__all__ = [
    "DEFAULT_PROJECT_ID",
    "ROUTES",
    "SAMPLE_JOBS_PATH",
    "EmulatorCredentials",
    "ModelArtsEmulator",
    "RequestRecord",
]
