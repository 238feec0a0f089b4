"""Local ModelArts emulator: the visualization-job API and the IAM calls it depends on.

Standard library only, so it starts fast and needs nothing installed; see ``ModelArtsEmulator``.
``backend`` holds the state (jobs, projects, tokens), ``wire`` the HTTP shapes, ``server`` the sockets.
"""

from .backend import DEFAULT_PROJECT_ID, EmulatorCredentials, mos_project_id
from .emulator import SAMPLE_JOBS_PATH, ModelArtsEmulator, RequestRecord

__all__ = [
    "DEFAULT_PROJECT_ID",
    "SAMPLE_JOBS_PATH",
    "EmulatorCredentials",
    "ModelArtsEmulator",
    "RequestRecord",
    "mos_project_id",
]
