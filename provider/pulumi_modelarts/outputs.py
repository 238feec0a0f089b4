"""The names of the flat outputs every surface exports (Pulumi outputs, CLI JSON).

Kept apart from the pydantic model so the Pulumi resource can declare its outputs without
importing pydantic; renaming any of these breaks consumers' StackReferences and jsonpaths.
"""

from __future__ import annotations

OUTPUT_FIELDS: tuple[str, ...] = (
    "job_id",
    "job_name",
    "job_desc",
    "service_url",
    "resource_id",
    "train_url",
    "status",
    "status_name",
    "is_running",
    "duration",
    "create_time",
    "created_at",
    "job_type",
    "flavor_code",
    "remaining_duration",
    "project_id",
    "region",
)
