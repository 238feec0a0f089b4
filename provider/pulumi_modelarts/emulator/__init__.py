"""Local ModelArts emulator: the visualization-job API and the IAM calls it depends on, standard
library only. ``backend`` holds the state, ``wire`` the HTTP shapes, ``server`` the sockets."""

from .backend import DEFAULT_PROJECT_ID, EmulatorCredentials
from .emulator import SAMPLE_JOBS_PATH, ModelArtsEmulator, RequestRecord

__all__ = ["DEFAULT_PROJECT_ID", "SAMPLE_JOBS_PATH", "EmulatorCredentials"]
__all__ += ["ModelArtsEmulator", "RequestRecord"]
